-- @noindex
-- groundbass_common.lua: shared code of the groundbass ReaScripts: settings, starting
-- programs without a shell, files and JSON, rendering the time selection, inserting media
-- into the project the job started in, one job at a time, progress, starting a bridge, and
-- the job itself (spawning `groundbass send`, polling its JSON status file).
-- Loaded with dofile() by the action scripts; not an action itself.

local gb = {}

gb.SECTION = "groundbass"          -- ExtState section (global settings and per-project state)
gb.START_TIMEOUT_S = 30            -- no status file after this long: the command did not start
gb.STALL_TIMEOUT_S = 120           -- status file not updated for this long: give up
gb.BUSY_STALE_S = 60               -- a running job's poll loop silent this long has died
gb.SERVE_WAIT_S = 60               -- --connect-timeout after starting a bridge (it loads the model first)
gb.RENDER_CMD = 42230              -- File: Render project, using the most recent render settings, auto-close dialog

-- Settings: key, caption, default. Empty values are not sent (the bridge's defaults apply).
gb.SETTINGS = {
  { "command", "groundbass command (full path)", "groundbass" },
  { "port", "Bridge UDP port", "9030" },
  { "cfg", "Guidance cfg (empty = model default)", "" },
  { "phi", "Rescale phi 0..1", "" },
  { "steps", "Diffusion steps", "" },
  { "grounding", "Style grounding 0..1", "" },
  { "style_cfg", "Style (timbre) guidance 0..10", "" },
  { "style", "Style reference bass file", "" },
  { "seed", "Seed (-1 = random)", "-1" },
  { "variations", "Variations", "1" },
  { "fx", "FX preset", "none" },
  { "midi", "MIDI export (0/1)", "0" },
}

function gb.get_settings()
  local s = {}
  for _, row in ipairs(gb.SETTINGS) do
    local key, default = row[1], row[3]
    local v = reaper.HasExtState(gb.SECTION, key) and reaper.GetExtState(gb.SECTION, key) or nil
    s[key] = (v ~= nil) and v or default
  end
  return s
end

function gb.save_settings(s)
  for _, row in ipairs(gb.SETTINGS) do
    reaper.SetExtState(gb.SECTION, row[1], tostring(s[row[1]] or ""), true)
  end
end

-- The parameter ranges of the command line and the bridge (one spec: groundbass/core/params.py).
local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
gb.RANGES = dofile(here .. "groundbass_params.lua")

-- Checks settings values against gb.RANGES (the same ranges `groundbass send` applies), so a
-- bad value is reported here at once instead of by a failed job; returns nil or a message.
function gb.check_settings(s)
  local p = tonumber(s.port)
  if s.port ~= "" and (p == nil or p ~= math.floor(p) or p < 1 or p > 65535) then
    return "port must be an integer within 1..65535, got '" .. tostring(s.port) .. "'"
  end
  for key, r in pairs(gb.RANGES) do
    local v = s[key]
    if v ~= nil and v ~= "" and not (key == "seed" and v == "-1") then
      local n = tonumber(v)
      if n == nil or n ~= n or n == math.huge or n == -math.huge then
        return key .. " must be " .. (r.kind == "integer" and "an integer" or "a number") .. ", got '" .. v .. "'"
      end
      if r.kind == "integer" and (n ~= math.floor(n) or tostring(v):find("[%.eE]")) then
        return key .. " must be an integer, got '" .. v .. "'"
      end
      if n < r.lo or n > r.hi then
        return key .. " must be within " .. tostring(r.lo) .. ".." .. tostring(r.hi) .. ", got '" .. v .. "'"
      end
    end
  end
  if s.midi ~= "" and s.midi ~= "0" and s.midi ~= "1" then return "MIDI export must be 0 or 1" end
  if s.command ~= nil and s.command:find('"', 1, true) then
    return "the groundbass command path must not contain a double quote (REAPER cannot pass it)"
  end
  return nil
end

------------------------------------------------------------------------------ starting programs

function gb.is_windows()
  return reaper.GetOS():match("^Win") ~= nil
end

function gb.command(s)
  return (s.command ~= nil and s.command ~= "") and s.command or "groundbass"
end

function gb.port(s)
  return (s.port ~= nil and s.port ~= "") and s.port or "9030"
end

-- REAPER's ExecProcess runs the program itself, with no shell: on macOS and Linux it splits
-- the command line at spaces, double quotes grouping (single quotes, backslashes and $ are
-- plain characters); on Windows the line goes to CreateProcess. So the arguments of a job go
-- into an args file (gb.write_args_file) and the command line holds only a few paths, each
-- in double quotes. A double quote cannot be passed that way: returns nil and a message.
function gb.command_line(argv)
  local parts = {}
  for i, a in ipairs(argv) do
    a = tostring(a)
    if a:find('"', 1, true) then return nil, "REAPER cannot pass a double quote to a program: " .. a end
    if gb.is_windows() then a = a:gsub("(\\+)$", "%1%1") end  -- a backslash before the closing quote is doubled
    parts[i] = '"' .. a .. '"'
  end
  return table.concat(parts, " ")
end

-- Start `argv` without waiting for it. `hidden`: no console window on Windows (timeout -2).
-- Returns the command line, or nil and a message.
function gb.spawn(argv, hidden)
  local cmd, err = gb.command_line(argv)
  if not cmd then return nil, err end
  reaper.ExecProcess(cmd, (hidden and gb.is_windows()) and -2 or -1)
  return cmd
end

-- The arguments of `groundbass send` for one job (after the word "send"; settings as strings).
function gb.send_args(s, mix, out, status_path, seed, tempo, timesig)
  local args = { mix, out, "--status-file", status_path, "--port", gb.port(s) }
  local function opt(flag, value)
    if value ~= nil and value ~= "" then args[#args + 1] = flag; args[#args + 1] = tostring(value) end
  end
  opt("--cfg", s.cfg); opt("--phi", s.phi); opt("--steps", s.steps); opt("--grounding", s.grounding)
  opt("--style-cfg", s.style_cfg)
  opt("--style", s.style)
  if seed ~= nil and tonumber(seed) ~= nil and tonumber(seed) >= 0 then opt("--seed", string.format("%d", seed)) end
  opt("--variations", s.variations); opt("--fx", s.fx)
  if s.midi == "1" then
    args[#args + 1] = "--midi"
    if tempo then opt("--tempo", string.format("%.10g", tempo)) end
    opt("--time-signature", timesig)
  end
  return args
end

------------------------------------------------------------------------------ files and JSON

function gb.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

function gb.write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

-- A string as JSON (control characters, " and \\ escaped; other bytes pass as they are).
function gb.json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- Write `args` as the JSON array of strings that `groundbass send --args-file` reads.
function gb.write_args_file(path, args)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = gb.json_string(a) end
  return gb.write_file(path, "[" .. table.concat(parts, ", ") .. "]\n")
end

-- A job's status (a table with a `state`), or nil when there is none to read yet: not written
-- yet, or (Windows) caught locked or half-replaced by the writer. The caller tries again at
-- the next poll.
function gb.read_status(path)
  local text = gb.read_file(path)
  local st = text and gb.json_decode(text)
  if type(st) == "table" and type(st.state) == "string" then return st end
  return nil
end

function gb.dirname(path)
  return path:match("^(.*)[/\\][^/\\]*$") or "."
end

function gb.sep()
  return gb.is_windows() and "\\" or "/"
end

-- A small JSON decoder (objects, arrays, strings with escapes, numbers, true/false/null).
function gb.json_decode(text)
  local pos = 1
  local function ws() pos = text:find("[^ \t\r\n]", pos) or #text + 1 end
  local value
  local function err(what) error("bad JSON (" .. what .. ") at " .. pos, 0) end
  local function str()
    local out, i = {}, pos + 1
    while true do
      local c = text:sub(i, i)
      if c == "" then err("unterminated string") end
      if c == '"' then pos = i + 1; return table.concat(out) end
      if c == "\\" then
        local e = text:sub(i + 1, i + 1)
        local map = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if map[e] then out[#out + 1] = map[e]; i = i + 2
        elseif e == "u" then
          local cp = tonumber(text:sub(i + 2, i + 5), 16) or err("bad \\u escape")
          i = i + 6
          if cp >= 0xD800 and cp <= 0xDBFF and text:sub(i, i + 1) == "\\u" then
            local lo = tonumber(text:sub(i + 2, i + 5), 16) or err("bad \\u escape")
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            i = i + 6
          end
          out[#out + 1] = utf8.char(cp)
        else err("bad escape") end
      else out[#out + 1] = c; i = i + 1 end
    end
  end
  value = function()
    ws()
    local c = text:sub(pos, pos)
    if c == "{" then
      local obj = {}
      pos = pos + 1; ws()
      if text:sub(pos, pos) == "}" then pos = pos + 1; return obj end
      while true do
        ws(); if text:sub(pos, pos) ~= '"' then err("key expected") end
        local k = str(); ws()
        if text:sub(pos, pos) ~= ":" then err("':' expected") end
        pos = pos + 1
        obj[k] = value(); ws()
        local d = text:sub(pos, pos); pos = pos + 1
        if d == "}" then return obj elseif d ~= "," then err("',' or '}' expected") end
      end
    elseif c == "[" then
      local arr = {}
      pos = pos + 1; ws()
      if text:sub(pos, pos) == "]" then pos = pos + 1; return arr end
      while true do
        arr[#arr + 1] = value(); ws()
        local d = text:sub(pos, pos); pos = pos + 1
        if d == "]" then return arr elseif d ~= "," then err("',' or ']' expected") end
      end
    elseif c == '"' then return str()
    elseif text:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif text:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif text:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    else
      local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then err("value expected") end
      pos = pos + #num
      return tonumber(num)
    end
  end
  local ok, result = pcall(value)
  if ok then return result end
  return nil, result
end

------------------------------------------------------------------------------ REAPER steps
-- Every call that takes a project gets the handle of the project the action started in
-- (`proj`, from reaper.EnumProjects(-1) at launch): when a job ends the user may be
-- looking at another project tab, and the result belongs to the first one.

gb.RENDER_NUMERIC = { "RENDER_SETTINGS", "RENDER_BOUNDSFLAG", "RENDER_CHANNELS", "RENDER_SRATE",
                      "RENDER_STARTPOS", "RENDER_ENDPOS", "RENDER_TAILFLAG", "RENDER_TAILMS",
                      "RENDER_ADDTOPROJ", "RENDER_DITHER", "RENDER_NORMALIZE" }
gb.RENDER_STRINGS = { "RENDER_FILE", "RENDER_PATTERN", "RENDER_FORMAT", "RENDER_FORMAT2" }
gb.WAV24 = "ZXZhdxgA"  -- RENDER_FORMAT: WAV, 24-bit PCM

-- The project in the active tab now (a handle) and its file name ("" when never saved).
function gb.project()
  return reaper.EnumProjects(-1)
end

-- Whether `proj` is still open in a tab.
function gb.project_is_open(proj)
  local i = 0
  while true do
    local p = reaper.EnumProjects(i)
    if p == nil then return false end
    if p == proj then return true end
    i = i + 1
  end
end

-- The time selection of `proj` as start, end in seconds, or nil when there is none.
function gb.time_selection(proj)
  local s, e = reaper.GetSet_LoopTimeRange2(proj, false, false, 0, 0, false)
  if e - s <= 0 then return nil end
  return s, e
end

-- A folder of our own for a job's args and status files, in the system temp folder (created):
-- its path needs no quoting beyond double quotes, unlike a project folder such as "Tom's Song".
function gb.temp_dir()
  local base = os.getenv("TMPDIR") or os.getenv("TEMP") or os.getenv("TMP") or "/tmp"
  local dir = base:gsub("[/\\]+$", "") .. gb.sep() .. "groundbass-reaper"
  reaper.RecursiveCreateDirectory(dir, 0)
  return dir
end

-- The folder for groundbass files: <project folder>/groundbass (created). `projfn`: the
-- project's file name from gb.project().
function gb.work_dir(projfn)
  local base = (projfn and projfn ~= "") and gb.dirname(projfn) or reaper.GetProjectPath()
  local dir = base .. gb.sep() .. "groundbass"
  reaper.RecursiveCreateDirectory(dir, 0)
  return dir
end

-- Mute, for the render, every track groundbass made earlier (named "groundbass ..."): the
-- model must hear the mix without a bass, not the previous take. Returns the tracks muted.
function gb.mute_groundbass_tracks(proj)
  local muted = {}
  for i = 0, reaper.CountTracks(proj) - 1 do
    local tr = reaper.GetTrack(proj, i)
    local _, name = reaper.GetSetMediaTrackInfo_String(tr, "P_NAME", "", false)
    if name:sub(1, 11) == "groundbass " and reaper.GetMediaTrackInfo_Value(tr, "B_MUTE") == 0 then
      reaper.SetMediaTrackInfo_Value(tr, "B_MUTE", 1)
      muted[#muted + 1] = tr
    end
  end
  return muted
end

-- Render the master mix of [start, stop] of `proj` (the active project: the render command
-- works on that one) to <dir>/<name>.wav, restoring every RENDER_* setting afterwards (the
-- secondary format is off during the render). Tracks made by groundbass are muted for the
-- render and unmuted after. Returns the file path, or nil and a message.
function gb.render_selection(proj, start, stop, dir, name)
  local saved_num, saved_str = {}, {}
  for _, k in ipairs(gb.RENDER_NUMERIC) do saved_num[k] = reaper.GetSetProjectInfo(proj, k, 0, false) end
  for _, k in ipairs(gb.RENDER_STRINGS) do
    local _, v = reaper.GetSetProjectInfo_String(proj, k, "", false)
    saved_str[k] = v
  end
  local function set_num(k, v) reaper.GetSetProjectInfo(proj, k, v, true) end
  local function set_str(k, v) reaper.GetSetProjectInfo_String(proj, k, v, true) end
  set_num("RENDER_SETTINGS", 0)     -- master mix
  set_num("RENDER_BOUNDSFLAG", 2)   -- time selection
  set_num("RENDER_STARTPOS", start)
  set_num("RENDER_ENDPOS", stop)
  set_num("RENDER_CHANNELS", 2)
  set_num("RENDER_SRATE", 0)        -- project sample rate
  set_num("RENDER_TAILFLAG", 0)
  set_num("RENDER_ADDTOPROJ", 0)
  set_num("RENDER_NORMALIZE", 0)
  set_str("RENDER_FILE", dir)
  set_str("RENDER_PATTERN", name)
  set_str("RENDER_FORMAT", gb.WAV24)
  set_str("RENDER_FORMAT2", "")     -- no second file in another format
  local muted = gb.mute_groundbass_tracks(proj)
  local ok, failure = pcall(reaper.Main_OnCommand, gb.RENDER_CMD, 0)
  for _, tr in ipairs(muted) do reaper.SetMediaTrackInfo_Value(tr, "B_MUTE", 0) end
  for _, k in ipairs(gb.RENDER_NUMERIC) do set_num(k, saved_num[k]) end
  for _, k in ipairs(gb.RENDER_STRINGS) do set_str(k, saved_str[k]) end
  local path = dir .. gb.sep() .. name .. ".wav"
  if not ok then return nil, "render failed: " .. tostring(failure) end
  if not reaper.file_exists(path) then return nil, "render failed: no file at " .. path end
  return path
end

-- The project tempo (BPM, quarter notes) at `t` seconds, for the MIDI file; nil when it lies
-- outside the range `send --tempo` accepts (then the bridge estimates it from the mix).
function gb.tempo_at(proj, t)
  local _, _, bpm = reaper.TimeMap_GetTimeSigAtTime(proj, t)
  local r = gb.RANGES.tempo
  if bpm and bpm >= r.lo and bpm <= r.hi then return bpm end
  return nil
end

-- The project time signature at `t` seconds as "N/D" for `send --time-signature` (the MIDI
-- file's), nil when REAPER reports one the bridge does not take (N 1..32, D 1..32, a power of 2).
function gb.timesig_at(proj, t)
  local num, denom = reaper.TimeMap_GetTimeSigAtTime(proj, t)
  num, denom = math.tointeger(num), math.tointeger(denom)
  local ok = { [1] = true, [2] = true, [4] = true, [8] = true, [16] = true, [32] = true }
  if num and denom and num >= 1 and num <= 32 and ok[denom] then return string.format("%d/%d", num, denom) end
  return nil
end

function gb.basename(path)
  return path:match("[^/\\]*$")
end

-- A new item on `track` playing `path` (audio or MIDI) from `start` for `length` seconds,
-- made directly (no InsertMedia, so no MIDI import dialog). Returns the item or nil and a message.
function gb.add_item(track, path, start, length)
  local src = reaper.PCM_Source_CreateFromFile(path)
  if not src then return nil, "REAPER could not open " .. path end
  local item = reaper.AddMediaItemToTrack(track)
  local take = reaper.AddTakeToMediaItem(item)
  reaper.SetMediaItemTake_Source(take, src)
  reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", gb.basename(path), true)
  reaper.SetMediaItemInfo_Value(item, "D_POSITION", start)
  reaper.SetMediaItemInfo_Value(item, "D_LENGTH", length)
  return item
end

-- A new track named `name` at the end of `proj`, which need not be the active project
-- (InsertTrackInProject, REAPER 7.18+; before that, InsertTrackAtIndex in a moment's switch
-- to that project's tab).
function gb.new_track(proj, name)
  local idx = reaper.CountTracks(proj)
  if reaper.APIExists("InsertTrackInProject") then
    reaper.InsertTrackInProject(proj, idx, 1)  -- 1: default envelopes and FX, like a new track
  else
    local active = gb.project()
    reaper.SelectProjectInstance(proj)
    reaper.InsertTrackAtIndex(idx, true)
    reaper.SelectProjectInstance(active)
  end
  local track = reaper.GetTrack(proj, idx)
  reaper.GetSetMediaTrackInfo_String(track, "P_NAME", name, true)
  return track
end

-- The track selection of `proj` as {track = true}, and putting it back (new tracks unselected).
function gb.track_selection(proj)
  local sel = {}
  for i = 0, reaper.CountTracks(proj) - 1 do
    local tr = reaper.GetTrack(proj, i)
    if reaper.IsTrackSelected(tr) then sel[tr] = true end
  end
  return sel
end

function gb.restore_track_selection(proj, sel)
  for i = 0, reaper.CountTracks(proj) - 1 do
    local tr = reaper.GetTrack(proj, i)
    reaper.SetTrackSelected(tr, sel[tr] == true)
  end
end

function gb.track_name(st, s, seed, what)
  local parts = { "groundbass " .. what, st.model or "model?" }
  for _, k in ipairs({ "cfg", "phi", "steps", "grounding", "fx" }) do
    if s[k] ~= nil and s[k] ~= "" then parts[#parts + 1] = k .. "=" .. s[k] end
  end
  if seed ~= nil then parts[#parts + 1] = "seed=" .. tostring(seed) end
  return table.concat(parts, " ")
end

-- Insert every output (and MIDI file) of a finished job on new tracks of `proj`, items over
-- [start, stop], in one undo block; the user's track selection stays as it was.
function gb.insert_results(proj, st, s, start, stop)
  reaper.Undo_BeginBlock2(proj)
  reaper.PreventUIRefresh(1)
  local selection = gb.track_selection(proj)
  local failure
  for i, path in ipairs(st.outputs or {}) do
    local seed = (st.seeds or {})[i]
    if not reaper.file_exists(path) then failure = "the bridge reported " .. path .. " but it does not exist"; break end
    local files = { { path, "bass" } }
    local midi = (st.midi or {})[i]
    if midi and midi ~= "" then files[2] = { midi, "MIDI" } end
    for _, f in ipairs(files) do
      if failure then break end
      local _, e = gb.add_item(gb.new_track(proj, gb.track_name(st, s, seed, f[2])), f[1], start, stop - start)
      failure = e
    end
  end
  gb.restore_track_selection(proj, selection)
  reaper.PreventUIRefresh(-1)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock2(proj, "groundbass: insert generated bass", -1)
  return failure
end

-- The selected item of `proj` to edit: a groundbass item (on a track named "groundbass ...")
-- whose active take plays an audio file. Returns item, take, source path, and the project
-- time at which the file starts, or nil and a message.
function gb.selected_groundbass_item(proj)
  local item = reaper.GetSelectedMediaItem(proj, 0)
  if not item then return nil, "Select a groundbass bass item first." end
  local track = reaper.GetMediaItem_Track(item)
  local _, tname = reaper.GetSetMediaTrackInfo_String(track, "P_NAME", "", false)
  if tname:sub(1, 11) ~= "groundbass " then
    return nil, "The selected item is not on a groundbass track (its track name starts with 'groundbass ')."
  end
  local take = reaper.GetActiveTake(item)
  if not take then return nil, "The selected item has no active take." end
  local path = reaper.GetMediaSourceFileName(reaper.GetMediaItemTake_Source(take))
  if not path or path == "" or not reaper.file_exists(path) then
    return nil, "The selected item's audio file was not found."
  end
  local pos = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
  local offs = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
  return item, take, path, pos - offs
end

-- Put `path` into `item` as a new active take that plays from the same offset as `old_take`
-- (the old take stays, one click away). Call inside an undo block.
function gb.add_take(item, old_take, path)
  local take = reaper.AddTakeToMediaItem(item)
  local src = reaper.PCM_Source_CreateFromFile(path)
  if not take or not src then return "could not add " .. path .. " as a take" end
  reaper.SetMediaItemTake_Source(take, src)
  reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", reaper.GetMediaItemTakeInfo_Value(old_take, "D_STARTOFFS"))
  reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "groundbass regenerated", true)
  reaper.SetActiveTake(take)
  return nil
end

function gb.error_box(message)
  reaper.ShowMessageBox(tostring(message), "groundbass", 0)
end

------------------------------------------------------------------------------ one job at a time
-- While a job's poll loop runs it keeps (non-persistent) ExtState: job_id, job_beat (the
-- time_precise of its last poll) and job_text (its progress). A beat older than
-- BUSY_STALE_S is a loop that died without clearing them.

function gb.running_job()
  local id = reaper.GetExtState(gb.SECTION, "job_id")
  local beat = tonumber(reaper.GetExtState(gb.SECTION, "job_beat"))
  if id == "" or not beat or reaper.time_precise() - beat > gb.BUSY_STALE_S then return nil end
  return id, reaper.GetExtState(gb.SECTION, "job_text")
end

function gb.job_beat(id, text)
  reaper.SetExtState(gb.SECTION, "job_id", id, false)
  reaper.SetExtState(gb.SECTION, "job_beat", string.format("%.3f", reaper.time_precise()), false)
  reaper.SetExtState(gb.SECTION, "job_text", text, false)
end

function gb.end_job(id)
  if reaper.GetExtState(gb.SECTION, "job_id") ~= id then return end
  for _, k in ipairs({ "job_id", "job_beat", "job_text", "cancel" }) do reaper.DeleteExtState(gb.SECTION, k, false) end
end

-- The Cancel action asks; the job's own poll loop sends /groundbass/cancel (it knows when the
-- bridge has the job, and the port).
function gb.request_cancel(id)
  reaper.SetExtState(gb.SECTION, "cancel", id, false)
end

function gb.cancel_requested(id)
  return reaper.GetExtState(gb.SECTION, "cancel") == id
end

------------------------------------------------------------------------------ progress
-- A small window with the job's status and a bar, and the action's toggle state on (a lit
-- toolbar button) while the job runs. Closing the window only hides it.

function gb.progress_text(st, cancelling, restarted)
  if cancelling then return "cancelling..." end
  if not st or st.state == "connecting" then
    return restarted and "waiting for the bridge to start..." or "connecting to the bridge..."
  end
  if st.state == "queued" then return string.format("queued, %d job(s) ahead", tonumber(st.position) or 0) end
  local stage = (st.stage ~= nil and st.stage ~= "") and st.stage or st.state
  return string.format("%s %d %%", stage, math.floor((tonumber(st.progress) or 0) * 100 + 0.5))
end

function gb.progress_start()
  local _, _, section, cmd_id = reaper.get_action_context()
  reaper.SetToggleCommandState(section, cmd_id, 1)
  reaper.RefreshToolbar2(section, cmd_id)
  gfx.init("groundbass", 380, 70)
  return { section = section, cmd = cmd_id, window = true }
end

function gb.progress_draw(ui, text, fraction)
  if not ui.window then return end
  if gfx.getchar() < 0 then ui.window = false; return end  -- closed by the user: the job goes on
  gfx.set(0.15, 0.15, 0.15); gfx.rect(0, 0, gfx.w, gfx.h, 1)
  gfx.set(0.9, 0.9, 0.9)
  gfx.x, gfx.y = 10, 8; gfx.drawstr("groundbass: " .. text)
  gfx.x, gfx.y = 10, 28; gfx.drawstr("'groundbass - Cancel' stops the job")
  gfx.set(0.35, 0.6, 0.95); gfx.rect(10, 50, math.floor((gfx.w - 20) * math.max(0, math.min(1, fraction))), 10, 1)
  gfx.update()
end

function gb.progress_stop(ui)
  if ui.window then gfx.quit() end
  reaper.SetToggleCommandState(ui.section, ui.cmd, 0)
  reaper.RefreshToolbar2(ui.section, ui.cmd)
end

------------------------------------------------------------------------------ no bridge running

function gb.bridge_unreachable(st)
  return tostring(st.error or ""):find("no groundbass bridge answered", 1, true) ~= nil
end

-- Once per REAPER session, offer to start `groundbass serve` in the background. Returns
-- "started", "declined", or nil when it was offered before.
function gb.offer_to_start_bridge(s)
  if reaper.GetExtState(gb.SECTION, "serve_offered") == "1" then return nil end
  reaper.SetExtState(gb.SECTION, "serve_offered", "1", false)
  local port = gb.port(s)
  local answer = reaper.ShowMessageBox("No groundbass bridge answered on port " .. port .. ".\n\n" ..
    "Start one now in the background (groundbass serve --port " .. port .. ") and try again?\n" ..
    "It loads the model once and keeps running until you stop it.", "groundbass", 4)
  if answer ~= 6 then return "declined" end
  return gb.spawn({ gb.command(s), "serve", "--port", port }, false) and "started" or nil
end

------------------------------------------------------------------------------ the whole action

-- (Re)write the job's args file and start `groundbass send --args-file` for it, not waiting.
-- `extra`: arguments added for this attempt. Returns true, or nil and a message.
function gb.start_send(job, extra)
  local args = {}
  for _, list in ipairs({ job.args, extra or {} }) do for _, a in ipairs(list) do args[#args + 1] = a end end
  local written, werr = gb.write_args_file(job.args_file, args)
  if not written then return nil, "Cannot write " .. job.args_file .. ": " .. tostring(werr) end
  local cmd, err = gb.spawn({ gb.command(job.s), "send", "--args-file", job.args_file }, true)
  if not cmd then return nil, err end
  job.cmd, job.t0, job.seen = cmd, reaper.time_precise(), nil
  return true
end

function gb.send_cancel(job)
  gb.spawn({ gb.command(job.s), "send", "--cancel", job.id, "--port", gb.port(job.s) }, true)
end

-- Put a finished job's result into the project it started in. Returns nil or a message.
function gb.deliver(job, st)
  if not gb.project_is_open(job.proj) then
    return "The project this job started in was closed; the bass is at\n" .. table.concat(st.outputs or {}, "\n")
  end
  local failure
  if job.opts.on_done then
    failure = job.opts.on_done(st, job.s, job.proj)
  else
    failure = gb.insert_results(job.proj, st, job.s, job.start, job.stop)
  end
  if st.seeds and st.seeds[1] then reaper.SetProjExtState(job.proj, gb.SECTION, "last_seed", tostring(st.seeds[1])) end
  return failure
end

-- End the job (once): progress off, ExtState cleared, the temporary mix, args and status
-- files removed, then `message` (if any) in a box. Ended before its status was final (the
-- script was terminated), the job is cancelled at the bridge too.
function gb.finish(job, message)
  if job.finished then return end
  job.finished = true
  if not job.final then gb.send_cancel(job) end
  gb.progress_stop(job.ui)
  gb.end_job(job.id)
  for _, path in ipairs(job.files) do os.remove(path) end
  if message then gb.error_box(message) end
end

-- One look at the status file; deferred again until the job is over.
function gb.poll(job)
  if job.finished then return end
  local now = reaper.time_precise()
  local st = gb.read_status(job.status)
  if st then job.seen = now end
  local cancelling = gb.cancel_requested(job.id)
  local final = st and (st.state == "done" or st.state == "error" or st.state == "cancelled")
  job.final = final
  if st == nil then
    if not job.seen and now - job.t0 > gb.START_TIMEOUT_S then
      job.final = true
      return gb.finish(job, "The groundbass bridge client did not start.\nCommand: " .. job.cmd ..
                            "\nCheck the command path in 'groundbass - Settings'.")
    elseif job.seen and now - job.seen > gb.STALL_TIMEOUT_S then
      return gb.finish(job, "groundbass: the status file " .. job.status .. " could not be read for " ..
                            gb.STALL_TIMEOUT_S .. " s")
    end
  elseif st.state == "done" then
    return gb.finish(job, gb.deliver(job, st))
  elseif st.state == "cancelled" then
    return gb.finish(job, (not cancelling) and "groundbass: the job was cancelled" or nil)
  elseif st.state == "error" then
    if cancelling then return gb.finish(job) end
    if gb.bridge_unreachable(st) and not job.restarted then
      local offer = gb.offer_to_start_bridge(job.s)
      if offer == "declined" then return gb.finish(job) end
      if offer == "started" then  -- try once more, giving the new bridge time to load its model
        job.restarted, job.final = true, false
        os.remove(job.status)
        local ok, err = gb.start_send(job, { "--connect-timeout", gb.SERVE_WAIT_S })
        if not ok then return gb.finish(job, err) end
        st = nil
      end
    end
    if st then return gb.finish(job, "groundbass: " .. tostring(st.error or "unknown error")) end
  elseif os.time() - (st.updated or os.time()) > gb.STALL_TIMEOUT_S then
    return gb.finish(job, "groundbass: no progress for " .. gb.STALL_TIMEOUT_S .. " s; is the bridge still running?")
  elseif cancelling and not job.cancel_sent and (st.state == "queued" or st.state == "running") then
    job.cancel_sent = true
    gb.send_cancel(job)
  end
  local text = gb.progress_text(st, cancelling, job.restarted)
  gb.job_beat(job.id, text)
  gb.progress_draw(job.ui, text, st and tonumber(st.progress) or 0)
  reaper.defer(function() gb.poll(job) end)
end

-- Render the selection [start, stop] of the active project, run `groundbass send`, poll,
-- insert into that same project. `seed`: nil or -1 for the settings' seed, else this seed.
-- `opts` (optional): `extra_args` (more `send` arguments, e.g. an edit's --keep/--region),
-- `settings` (values that replace the user's for this job) and `on_done(st, s, proj)` (what
-- to do with the finished job instead of inserting new tracks; returns nil or a message).
-- Returns immediately; the rest runs under defer. One job at a time: while one runs, this
-- says so in a message box and does nothing.
function gb.generate(start, stop, seed, opts)
  opts = opts or {}
  local proj, projfn = gb.project()
  local s = gb.get_settings()
  local bad = gb.check_settings(s)
  if bad then gb.error_box("Settings: " .. bad); return end
  local busy, busy_text = gb.running_job()
  if busy then
    gb.error_box("A groundbass job is already running (" .. busy_text .. ").\n" ..
                 "Wait for it to finish, or stop it with 'groundbass - Cancel'.")
    return
  end
  for k, v in pairs(opts.settings or {}) do s[k] = v end
  if seed == nil then seed = tonumber(s.seed) end
  local dir = gb.work_dir(projfn)
  local stamp = os.date("%Y%m%d-%H%M%S") .. string.format("-%03d", math.random(0, 999))
  local mix, err = gb.render_selection(proj, start, stop, dir, "groundbass-mix-" .. stamp)
  if not mix then gb.error_box(err); return end
  reaper.SetProjExtState(proj, gb.SECTION, "last_start", string.format("%.17g", start))
  reaper.SetProjExtState(proj, gb.SECTION, "last_end", string.format("%.17g", stop))
  local tmp = gb.temp_dir() .. gb.sep() .. "groundbass-" .. stamp
  local job = { id = "reaper-" .. stamp, proj = proj, s = s, start = start, stop = stop, opts = opts,
                status = tmp .. ".status.json", args_file = tmp .. ".args.json" }
  job.files = { mix, job.args_file, job.status }
  local out = dir .. gb.sep() .. "groundbass-bass-" .. stamp .. ".wav"
  job.args = gb.send_args(s, mix, out, job.status, seed, gb.tempo_at(proj, start), gb.timesig_at(proj, start))
  for _, a in ipairs({ "--job-id", job.id, table.unpack(opts.extra_args or {}) }) do job.args[#job.args + 1] = a end
  local ok, serr = gb.start_send(job)
  if not ok then
    for _, path in ipairs(job.files) do os.remove(path) end
    gb.error_box(serr)
    return
  end
  job.ui = gb.progress_start()
  gb.job_beat(job.id, "starting")
  reaper.atexit(function() gb.finish(job) end)  -- also when the user terminates the script
  reaper.defer(function() gb.poll(job) end)
end

return gb
