-- @description groundbass: regenerate the bass of a groundbass item inside the time selection
-- @version 0.2.3
-- @author groundbass contributors
-- @about
--   Select a bass item that groundbass made and set a time selection inside it: the part of
--   the bass inside the selection is generated anew (fitting the mix and both edges), the
--   rest stays sample for sample, with 30 ms equal-power crossfades at the edges. The result
--   becomes a new take of the same item (the old take stays, one click away), in one undo step.
--   The mix under the item is rendered without the groundbass tracks.
-- @noindex

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local gb = dofile(script_dir .. "groundbass_common.lua")

local proj = gb.project()
local item, take, path, file_start = gb.selected_groundbass_item(proj)
if not item then gb.error_box(take); return end
local sel_start, sel_end = gb.time_selection(proj)
if not sel_start then gb.error_box("Set a time selection inside the selected item: the part to regenerate."); return end
local pos = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
local len = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
if sel_start < pos - 1e-9 or sel_end > pos + len + 1e-9 then
  gb.error_box("The time selection must lie inside the selected item.")
  return
end
if file_start < 0 then gb.error_box("The item's file starts before the project start; move the item first."); return end
local src_len = reaper.GetMediaSourceLength(reaper.GetMediaItemTake_Source(take))
local region = string.format("%.6f:%.6f", sel_start - file_start, sel_end - file_start)

gb.generate(file_start, file_start + src_len, nil, {
  extra_args = { "--keep", path, "--region", region },
  settings = { midi = "0" },  -- a new take of audio only (and with a tempo the region would be read as bars)
  on_done = function(st, _, job_proj)
    local out = (st.outputs or {})[1]
    if not out or not reaper.file_exists(out) then return "the bridge reported no output file" end
    if not reaper.ValidatePtr2(job_proj, item, "MediaItem*") then
      return "The item to regenerate was deleted while the job ran; the new take is at\n" .. out
    end
    reaper.Undo_BeginBlock2(job_proj)
    local failure = gb.add_take(item, take, out)
    reaper.UpdateArrange()
    reaper.Undo_EndBlock2(job_proj, "groundbass: regenerate bass in time selection", -1)
    return failure
  end,
})
