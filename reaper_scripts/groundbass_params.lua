-- @noindex
-- groundbass parameter ranges, generated from groundbass/core/params.py
-- (tests/test_reaper_scripts.py checks that this file matches it; do not edit by hand).
return {
  steps = { kind = "integer", lo = 1, hi = 1000 },
  cfg = { kind = "number", lo = 0.0, hi = 20.0 },
  phi = { kind = "number", lo = 0.0, hi = 1.0 },
  grounding = { kind = "number", lo = 0.0, hi = 1.0 },
  style_cfg = { kind = "number", lo = 0.0, hi = 10.0 },
  harmony_cfg = { kind = "number", lo = 0.0, hi = 10.0 },
  seed = { kind = "integer", lo = 0, hi = 2147483631 },
  variations = { kind = "integer", lo = 1, hi = 16 },
  loudness = { kind = "number", lo = -70.0, hi = 0.0 },
  sample_rate = { kind = "integer", lo = 8000, hi = 192000 },
  tempo = { kind = "number", lo = 20.0, hi = 400.0 },
  crossfade = { kind = "number", lo = 0.0, hi = 1.0 },
}
