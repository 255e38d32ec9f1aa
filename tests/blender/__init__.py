"""Scripts that run inside real Blender (bpy) for tests/test_blender_real.py."""
