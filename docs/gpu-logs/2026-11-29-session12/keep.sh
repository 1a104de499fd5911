# sourced by session 12's calls: a warm machine keeps ~/, and the tree sent with each call
# holds results/ as committed here. keep_save files this call's archive in ~/keep;
# keep_restore merges every kept asv-results.tgz (at any depth) into results/, adding files
# only, so that the backfill's shards skip what earlier calls measured.
keep_save() { mkdir -p ~/keep && cp "$1" ~/keep/ && echo "kept $1"; }
keep_restore() {
    local scratch archive added=0
    [ -d ~/keep ] || { echo "keep: nothing kept (a fresh machine)"; return 0; }
    scratch=$(mktemp -d)
    for archive in ~/keep/*.tgz; do tar -xzf "$archive" -C "$scratch"; done
    # nested archives: the multi-GPU backfill packs each GPU's folder, each with its asv-results.tgz
    while IFS= read -r archive; do
        mkdir -p "$scratch/x" && tar -xzf "$archive" -C "$scratch/x"
        before=$(find results -type f | wc -l)
        cp -rn "$scratch/x/results/." results/
        added=$((added + $(find results -type f | wc -l) - before))
        rm -rf "$scratch/x"
    done < <(find "$scratch" -name asv-results.tgz)
    rm -rf "$scratch"
    echo "keep: $added results files restored from ~/keep"
}
