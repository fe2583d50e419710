-- @description groundbass: settings for the generate and regenerate actions
-- @version 0.2.3
-- @author groundbass contributors
-- @about
--   Edits the parameters the groundbass actions send to the bridge: guidance cfg, rescale
--   phi, diffusion steps, style grounding strength and reference file, seed, variations,
--   post-processing (fx) preset and MIDI export, plus the path of the `groundbass` command
--   and the bridge's UDP port. Stored with SetExtState (persisted across sessions).
--   Leave a field empty to use the bridge's default.
-- @noindex

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local gb = dofile(script_dir .. "groundbass_common.lua")

local s = gb.get_settings()
local captions, values = {}, {}
for i, row in ipairs(gb.SETTINGS) do
  captions[i] = row[2]
  values[i] = s[row[1]]
end
-- Captions are comma-separated; values use a newline separator (paths may contain commas).
local ok, csv = reaper.GetUserInputs("groundbass settings", #gb.SETTINGS,
  table.concat(captions, ",") .. ",extrawidth=300,separator=\n", table.concat(values, "\n"))
if not ok then return end

local new, i = {}, 1
for field in (csv .. "\n"):gmatch("(.-)\n") do
  local row = gb.SETTINGS[i]
  if not row then break end
  new[row[1]] = field:match("^%s*(.-)%s*$")
  i = i + 1
end
for _, row in ipairs(gb.SETTINGS) do
  if new[row[1]] == nil then new[row[1]] = s[row[1]] end
end
local bad = gb.check_settings(new)
if bad then
  gb.error_box("Settings not saved: " .. bad)
  return
end
gb.save_settings(new)
