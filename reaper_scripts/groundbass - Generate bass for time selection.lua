-- @description groundbass: generate a bass stem for the time selection
-- @version 0.2.3
-- @author groundbass contributors
-- @changelog
--   The shared parameter ranges (groundbass_params.lua) also carry harmony_cfg (0 to 10), generated from core/params.py; the actions leave it at the model's default
-- @about
--   # groundbass for REAPER
--   Renders the master mix of the time selection, sends it to a running groundbass
--   bridge (`groundbass serve`) and inserts the generated bass on a new track, starting
--   exactly at the selection start, in one undo block. With MIDI export on (Settings),
--   the transcribed MIDI goes on a second track.
--
--   Needs the groundbass Python package (`pip install groundbass`) and a running bridge,
--   `groundbass serve` (the action offers to start one). Also installs the Settings,
--   Regenerate and Cancel actions. See reaper_scripts/README.md.
-- @provides
--   [nomain] groundbass_common.lua
--   [nomain] groundbass_params.lua
--   [main] groundbass - Settings.lua
--   [main] groundbass - Regenerate last.lua
--   [main] groundbass - Regenerate bass in time selection.lua
--   [main] groundbass - Cancel.lua
-- @link https://github.com/groundbass/groundbass

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local gb = dofile(script_dir .. "groundbass_common.lua")

local start, stop = gb.time_selection(gb.project())
if not start then
  gb.error_box("Make a time selection first: groundbass generates a bass for the selected part of the mix.")
  return
end
gb.generate(start, stop, nil)
