-- @description groundbass: regenerate the last bass with a new seed
-- @version 0.2.3
-- @author groundbass contributors
-- @about
--   Runs the groundbass generate action again on the same selection as the last run in
--   this project (the time selection is restored), with a new random seed and the current
--   settings. The new bass goes on a new track, so earlier takes stay for comparison.
-- @noindex

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local gb = dofile(script_dir .. "groundbass_common.lua")

local proj = gb.project()
local ok_s, start = reaper.GetProjExtState(proj, gb.SECTION, "last_start")
local ok_e, stop = reaper.GetProjExtState(proj, gb.SECTION, "last_end")
start, stop = tonumber(start), tonumber(stop)
if ok_s == 0 or ok_e == 0 or not start or not stop or stop <= start then
  gb.error_box("Nothing to regenerate yet: run 'groundbass - Generate bass for time selection' first.")
  return
end
reaper.GetSet_LoopTimeRange2(proj, true, false, start, stop, false)
math.randomseed(math.floor(reaper.time_precise() * 1000) + os.time())
local last = tonumber(({ reaper.GetProjExtState(proj, gb.SECTION, "last_seed") })[2]) or -1
local seed
repeat seed = math.random(0, 2000000000) until seed ~= last
gb.generate(start, stop, seed)
