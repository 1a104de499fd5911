"""Pictures of the stored asv history: trends, knob attribution, roofline and codegen (plots/render.py)."""
