"""The online-softmax step both kernels share (the ``tl`` kernel and the Gluon one).

Written with ``tl`` ops: Gluon kernels call ``triton.jit`` helpers too, and the values
keep the caller's layouts.
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634
_LOG2E = tl.constexpr(LOG2E)  # the jit functions may only read constexpr globals


@triton.jit
def soft_cap(s, qk_scale, logit_cap):
    """cap * tanh(s * scale / cap) in the log2 domain (``qk_scale`` already holds log2(e))."""
    # tanh(x) = 1 - 2 / (exp(2x) + 1), written with exp2 so the interpreter runs it too. A
    # constexpr global stays on the right of a tensor: Triton 3.9's interpreter evaluates
    # `constexpr * tensor` to a constexpr wrapping the tensor, which tl.exp2 then refuses.
    x = s * (qk_scale / (logit_cap * _LOG2E))
    return logit_cap * _LOG2E * (1.0 - 2.0 / (tl.exp2(x * (2.0 * _LOG2E)) + 1.0))


@triton.jit
def online_softmax(s, m_i, qk_scale, USE_LOGIT_CAP: tl.constexpr):
    """Fold one tile's scores (soft-capped and masked already) into the running max ``m_i``
    (scaled log2 domain): returns P, alpha (the old state's rescale) and m. The running sum is
    the caller's, ``l * alpha`` plus P's sums, each kernel keeping it in the layout it chooses."""
    if USE_LOGIT_CAP:
        m_new = tl.maximum(m_i, tl.max(s, 1))
        p = tl.exp2(s - m_new[:, None])
    else:
        # the scale folded into the exponent: one FMA per score, not a multiply and a subtract
        m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
        p = tl.exp2(s * qk_scale - m_new[:, None])
    alpha = tl.exp2(m_i - m_new)
    return p, alpha, m_new
