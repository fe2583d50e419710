-- A stand-in for REAPER's `reaper` API table (and `gfx`), for running the groundbass
-- ReaScripts under plain lua5.4 in tests (REAPER itself is not available on the test machines).
-- It records every call, keeps a tiny model of open projects (project tabs, each with its
-- time selection, RENDER_* settings, tracks, items, selection, ExtState), "renders" by writing
-- a file where REAPER would, runs ExecProcess command lines the way REAPER does on
-- macOS/Linux (split at spaces with double quotes grouping, then run with no shell in
-- between) and runs reaper.defer callbacks in ticks. Any API function not defined here raises.

local stub = {
  calls = {}, tracks = {}, boxes = {}, renders = {}, exec = {}, undo = {},
  proj = {}, ext = {}, projext = {}, time_sel = { 0, 0 }, cursor = 0, clock = 1000.0,
  deferred = {}, ticks = 0, user_inputs = nil, os_name = "Linux",
  project_file = "", project_path = "/tmp", release = nil, script_error = nil,
  other_projects = {}, active = 1, missing_api = {}, mb_answers = {}, toggles = {},
  atexit = {}, gfx_frames = {}, current_project_calls = {}, events = {},
}

local function record(name, ...)
  stub.calls[#stub.calls + 1] = { name = name, args = { ... } }
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Functions whose first argument is a project (0 = the active one). A call with 0 after the
-- action's first run (that is, from deferred code, when another tab may be active) is listed
-- in stub.current_project_calls.
local TAKES_PROJECT = {}
for name in ([[CountTracks GetTrack GetSetProjectInfo GetSetProjectInfo_String GetSet_LoopTimeRange2
  GetProjExtState SetProjExtState GetSelectedMediaItem TimeMap_GetTimeSigAtTime InsertTrackInProject
  Undo_BeginBlock2 Undo_EndBlock2 ValidatePtr2]]):gmatch("%S+") do TAKES_PROJECT[name] = true end

local api = {}
reaper = setmetatable({}, {
  __index = function(_, key)
    local f = api[key]
    if f == nil or stub.missing_api[key] then error("reaper." .. key .. " is not part of the stand-in", 2) end
    return function(...)
      record(key, ...)
      if TAKES_PROJECT[key] and (select(1, ...) == 0 or select(1, ...) == nil) and stub.ticks > 0 then
        stub.current_project_calls[#stub.current_project_calls + 1] = key
      end
      return f(...)
    end
  end,
})

function stub.setup(cfg)
  for k, v in pairs(cfg) do stub[k] = v end
end

-- projects --------------------------------------------------------------------------------
-- Project 1 is made of the top-level setup fields (project_file, project_path, tracks, proj =
-- RENDER_* settings, projext, time_sel); `other_projects` = {{file, path, tracks}, ...} are
-- more open tabs. A handle is the project's table; `active` is the index of the current tab.
local function projects()
  if not stub.projects then
    stub.projects = { { file = stub.project_file, path = stub.project_path, tracks = stub.tracks,
                        info = stub.proj, ext = stub.projext, time_sel = stub.time_sel } }
    for _, p in ipairs(stub.other_projects) do
      stub.projects[#stub.projects + 1] = { file = p.file or "", path = p.path or "/tmp", tracks = p.tracks or {},
                                            info = p.proj or {}, ext = p.projext or {}, time_sel = { 0, 0 } }
    end
  end
  return stub.projects
end

local function P(proj)
  if proj == 0 or proj == nil then return projects()[stub.active] end
  for _, p in ipairs(projects()) do if p == proj then return p end end
  error("stand-in: a handle of a project that is not open", 3)  -- REAPER would crash here
end

local function index_of(proj)
  for i, p in ipairs(projects()) do if p == proj then return i end end
end

function api.EnumProjects(idx)
  local p = (idx == -1) and projects()[stub.active] or projects()[idx + 1]
  if not p then return nil, "" end
  return p, p.file
end
function api.SelectProjectInstance(proj) stub.active = index_of(P(proj)) end
function api.GetProjectPath() return P(0).path end
function api.APIExists(name) return api[name] ~= nil and not stub.missing_api[name] end
function api.ValidatePtr2(proj, ptr, kind)
  assert(kind == "MediaItem*", "stand-in validates MediaItem* only")
  for _, t in ipairs(P(proj).tracks) do for _, it in ipairs(t.items) do if it == ptr then return true end end end
  return false
end

-- project and render settings -----------------------------------------------------------
function api.GetOS() return stub.os_name end
function api.GetSet_LoopTimeRange2(proj, is_set, is_loop, s, e, seek)
  local p = P(proj)
  if is_set then p.time_sel[1], p.time_sel[2] = s, e end
  return p.time_sel[1], p.time_sel[2]
end
function api.GetSetProjectInfo(proj, key, value, is_set)
  local info = P(proj).info
  if is_set then info[key] = value end
  return info[key] or 0
end
function api.GetSetProjectInfo_String(proj, key, value, is_set)
  local info = P(proj).info
  if is_set then info[key] = value end
  return true, info[key] or ""
end
function api.Main_OnCommand(cmd, flag)
  assert(cmd == 42230, "stand-in knows command 42230 (render) only")
  -- render the active project with its most recent settings: write the file REAPER would
  local p = P(0)
  local snap = {}
  for k, v in pairs(p.info) do snap[k] = v end
  -- REAPER renders the master mix of unmuted tracks: record which tracks were heard
  local heard = {}
  for _, t in ipairs(p.tracks) do if not t.mute then heard[#heard + 1] = t.name end end
  snap.tracks_heard = heard
  stub.renders[#stub.renders + 1] = snap
  local sep = stub.os_name:match("^Win") and "\\" or "/"  -- on Linux a "\" is part of a file name
  local path = p.info.RENDER_FILE .. sep .. p.info.RENDER_PATTERN .. ".wav"
  local f = assert(io.open(path, "wb")); f:write("RIFF stand-in render"); f:close()
end
function api.RecursiveCreateDirectory(path, ignored)
  os.execute("mkdir -p " .. shq(path))
  return 1
end
function api.file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close(); return true end
  return false
end

-- tempo map: tempo_map = {{time, bpm, num, denom}, ...} in time order (default 120 BPM 4/4)
function api.TimeMap_GetTimeSigAtTime(proj, t)
  P(proj)
  local m = { 0, 120.0, 4, 4 }
  for _, p in ipairs(stub.tempo_map or {}) do if p[1] <= t then m = p end end
  return m[3], m[4], m[2]
end

-- tracks and items -----------------------------------------------------------------------
local function new_track() return { name = "", selected = false, items = {} } end
function api.CountTracks(proj) return #P(proj).tracks end
function api.InsertTrackInProject(proj, idx, flags) table.insert(P(proj).tracks, idx + 1, new_track()) end
function api.InsertTrackAtIndex(idx, defaults) table.insert(P(0).tracks, idx + 1, new_track()) end  -- active project
function api.GetTrack(proj, idx) return P(proj).tracks[idx + 1] end
function api.GetSetMediaTrackInfo_String(track, key, value, is_set)
  assert(key == "P_NAME", "stand-in knows P_NAME only")
  if is_set then track.name = value end
  return true, track.name
end
function api.GetMediaTrackInfo_Value(track, key)
  assert(key == "B_MUTE", "stand-in knows B_MUTE only")
  return track.mute and 1 or 0
end
function api.SetMediaTrackInfo_Value(track, key, value)
  assert(key == "B_MUTE", "stand-in knows B_MUTE only")
  track.mute = value ~= 0
  return true
end
function api.IsTrackSelected(track) return track.selected == true end
function api.SetTrackSelected(track, selected) track.selected = selected end
function api.AddMediaItemToTrack(track)
  local item = { position = 0, length = 0, takes = {}, in_undo_block = stub.undo_depth == 1 }
  track.items[#track.items + 1] = item
  return item
end
function api.GetTrackMediaItem(track, idx) return track.items[idx + 1] end
-- items with takes (setup: tracks[i].items[j] = {position, length, selected, takes = {{path, offset}}})
local function each_item(f, only)
  for _, p in ipairs(projects()) do
    if only == nil or p == only then
      for _, t in ipairs(p.tracks) do for _, it in ipairs(t.items) do f(t, it) end end
    end
  end
end
function api.GetSelectedMediaItem(proj, idx)
  local found, n = nil, 0
  each_item(function(_, it) if it.selected then if n == idx and not found then found = it end; n = n + 1 end end, P(proj))
  return found
end
function api.GetMediaItem_Track(item)
  local owner
  each_item(function(t, it) if it == item then owner = t end end)
  return owner
end
function api.GetActiveTake(item)
  if not item.takes then return nil end
  return item.takes[item.active or 1]
end
function api.GetMediaItemTake_Source(take) return { path = take.path } end
function api.GetMediaSourceFileName(src) return src.path end
function api.GetMediaSourceLength(src) return stub.source_lengths and stub.source_lengths[src.path] or 10.0, false end
function api.GetMediaItemTakeInfo_Value(take, key)
  assert(key == "D_STARTOFFS", "stand-in knows D_STARTOFFS only")
  return take.offset or 0
end
function api.SetMediaItemTakeInfo_Value(take, key, value)
  assert(key == "D_STARTOFFS", "stand-in knows D_STARTOFFS only")
  take.offset = value
  return true
end
function api.GetSetMediaItemTakeInfo_String(take, key, value, is_set)
  assert(key == "P_NAME", "stand-in knows P_NAME only")
  if is_set then take.name = value end
  return true, take.name or ""
end
function api.AddTakeToMediaItem(item)
  local take = { path = "", in_undo_block = stub.undo_depth == 1 }
  item.takes[#item.takes + 1] = take
  return take
end
function api.PCM_Source_CreateFromFile(path)
  if not api.file_exists(path) then return nil end
  return { path = path }
end
function api.SetMediaItemTake_Source(take, src) take.path = src.path; return true end
function api.SetActiveTake(take)
  each_item(function(_, it)
    for i, tk in ipairs(it.takes or {}) do if tk == take then it.active = i end end
  end)
end
function api.CountTrackMediaItems(track) return #track.items end
function api.SetMediaItemInfo_Value(item, key, value)
  if key == "D_POSITION" then item.position = value
  elseif key == "D_LENGTH" then item.length = value
  else error("stand-in knows D_POSITION and D_LENGTH only") end
  return true
end
function api.GetMediaItemInfo_Value(item, key)
  if key == "D_POSITION" then return item.position end
  if key == "D_LENGTH" then return item.length or 0 end
  return 0
end

-- undo, UI ----------------------------------------------------------------------------------
stub.undo_depth = 0
function api.Undo_BeginBlock2(proj)
  stub.undo_depth = stub.undo_depth + 1
  stub.undo[#stub.undo + 1] = { "begin", index_of(P(proj)) }
end
function api.Undo_EndBlock2(proj, desc, flags)
  stub.undo_depth = stub.undo_depth - 1
  stub.undo[#stub.undo + 1] = { "end", index_of(P(proj)), desc, flags }
end
function api.PreventUIRefresh(n) end
function api.UpdateArrange() end
-- Answers come from `mb_answers` in order (6 = Yes, 7 = No), else 1 (OK).
function api.ShowMessageBox(msg, title, kind)
  local answer = table.remove(stub.mb_answers, 1) or 1
  stub.boxes[#stub.boxes + 1] = { msg = msg, title = title, kind = kind, answer = answer }
  return answer
end
function api.GetUserInputs(title, n, captions, values)
  stub.user_inputs_asked = { title = title, n = n, captions = captions, values = values }
  if not stub.user_inputs then return false, values end
  return stub.user_inputs.ok, stub.user_inputs.csv
end
-- The running action: section 0, command id `cmd_id` (default 55555).
function api.get_action_context()
  return false, stub.script_file or "", 0, stub.cmd_id or 55555, -1, -1, -1, ""
end
function api.SetToggleCommandState(section, cmd, state)
  stub.toggles[#stub.toggles + 1] = { section, cmd, state }
  return true
end
function api.RefreshToolbar2(section, cmd) end

-- gfx: one window; every gfx.update() with new text adds a frame (its strings) to gfx_frames.
-- `close_window_at` = tick: the user closes the window then (gfx.getchar() returns -1).
local frame = {}
gfx = { x = 0, y = 0, w = 0, h = 0 }
function gfx.init(title, w, h)
  stub.gfx_open, stub.gfx_title = true, title
  gfx.w, gfx.h = w, h
  return 1
end
function gfx.getchar()
  if stub.close_window_at and stub.ticks >= stub.close_window_at then stub.gfx_open = false end
  return stub.gfx_open and 0 or -1
end
function gfx.set(...) end
function gfx.rect(...) end
function gfx.setfont(...) end
function gfx.drawstr(s) frame[#frame + 1] = s end
function gfx.update()
  local last = stub.gfx_frames[#stub.gfx_frames]
  if #frame > 0 and (not last or table.concat(last, "\n") ~= table.concat(frame, "\n")) then
    stub.gfx_frames[#stub.gfx_frames + 1] = frame
  end
  frame = {}
end
function gfx.quit() stub.gfx_open = false end

-- ExtState ----------------------------------------------------------------------------------
function api.GetExtState(section, key) return stub.ext[section .. "/" .. key] or "" end
function api.HasExtState(section, key) return stub.ext[section .. "/" .. key] ~= nil end
function api.SetExtState(section, key, value, persist) stub.ext[section .. "/" .. key] = value end
function api.DeleteExtState(section, key, persist) stub.ext[section .. "/" .. key] = nil end
function api.GetProjExtState(proj, section, key)
  local v = P(proj).ext[section .. "/" .. key]
  return v and 1 or 0, v or ""
end
function api.SetProjExtState(proj, section, key, value)
  P(proj).ext[section .. "/" .. key] = value
  return 1
end

-- time, defer, processes ------------------------------------------------------------------
function api.time_precise() return stub.clock end
function api.defer(f) stub.deferred[#stub.deferred + 1] = f end
function api.atexit(f) stub.atexit[#stub.atexit + 1] = f end

-- REAPER on macOS/Linux splits an ExecProcess command line itself: whitespace separates
-- arguments, double quotes group (and are dropped); there is no shell, so ' \ $ ` and ; are
-- plain characters.
function stub.split_command_line(cmd)
  local argv, cur, started, quoted = {}, {}, false, false
  for c in cmd:gmatch(".") do
    if c == '"' then
      quoted, started = not quoted, true
    elseif c:match("%s") and not quoted then
      if started then argv[#argv + 1] = table.concat(cur); cur, started = {}, false end
    else
      cur[#cur + 1] = c; started = true
    end
  end
  if started then argv[#argv + 1] = table.concat(cur) end
  return argv
end

function api.ExecProcess(cmd, timeout)
  local argv = stub.split_command_line(cmd)
  stub.exec[#stub.exec + 1] = { cmd = cmd, timeout = timeout, argv = argv }
  -- Run exactly that argv, as execvp would: each element reaches the program literally (the
  -- single quotes below are the stand-in's own plumbing to os.execute, not REAPER's).
  local words = {}
  for i, a in ipairs(argv) do words[i] = shq(a) end
  local ok = os.execute(table.concat(words, " "))
  return ok and "0\n" or "1\n"
end

-- The status file the fake bridge client named in `list` (a file holding its path).
local function status_of(list)
  local f = io.open(list, "r")
  if not f then return nil end
  local path = f:read("l"); f:close()
  return path
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a"); f:close()
  return text
end

-- Things that happen at the start of a tick, `events` = {{tick = n, kind = ...}, ...}:
--   release  {list}: the fake client finishes - `<status>.final` replaces the status file
--   glitch   {list}: REAPER reads the status file half-written (Windows: the writer is
--                    replacing it); whole again one tick later
--   activate {project}: the user switches to project tab number `project`
--   close    {project}: the user closes project tab number `project` (its handle dies)
--   run      {script}: the user runs another action (a script file) now
--   terminate {}: the user terminates the running script (REAPER drops its deferred
--                 callbacks and calls its atexit functions)
local glitched
local function happen(ev)
  if ev.kind == "release" then
    local status = status_of(ev.list)
    if status then os.rename(status .. ".final", status) end
  elseif ev.kind == "glitch" then
    local status = status_of(ev.list)
    local text = status and read_all(status)
    if text then
      glitched = { path = status, text = text, tick = stub.ticks }
      local f = assert(io.open(status, "wb")); f:write(text:sub(1, #text // 2)); f:close()
    end
  elseif ev.kind == "activate" then
    stub.active = ev.project
  elseif ev.kind == "close" then
    local active = projects()[stub.active]
    table.remove(projects(), ev.project)
    stub.active = index_of(active) or 1
  elseif ev.kind == "terminate" then
    stub.deferred = {}
    for _, f in ipairs(stub.atexit) do f() end
    stub.atexit = {}
  elseif ev.kind == "run" then
    local ok, err = pcall(dofile, ev.script)
    if not ok then stub.script_error = tostring(err) end
  else
    error("unknown stand-in event " .. tostring(ev.kind))
  end
end

-- Run deferred callbacks, one batch per tick, `tick_s` (0.1 s) of clock per tick, then the
-- atexit functions (REAPER calls them when a script has nothing deferred left). `release` =
-- {after = n, list = file} is short for the event {tick = n, kind = "release", list = file}.
function stub.run(max_ticks)
  if stub.release then
    stub.events[#stub.events + 1] = { tick = stub.release.after, kind = "release", list = stub.release.list }
  end
  local last_event = 0
  for _, ev in ipairs(stub.events) do last_event = math.max(last_event, ev.tick) end
  while (#stub.deferred > 0 or stub.ticks < last_event) and stub.ticks < max_ticks do
    stub.ticks = stub.ticks + 1
    stub.clock = stub.clock + (stub.tick_s or 0.1)
    if glitched and glitched.tick < stub.ticks then
      local f = assert(io.open(glitched.path, "wb")); f:write(glitched.text); f:close()
      glitched = nil
    end
    for _, ev in ipairs(stub.events) do if ev.tick == stub.ticks then happen(ev) end end
    local batch = stub.deferred
    stub.deferred = {}
    for _, f in ipairs(batch) do f() end
  end
  if #stub.deferred == 0 then
    for _, f in ipairs(stub.atexit) do f() end
    stub.atexit = {}
  end
end

-- JSON dump of what happened ------------------------------------------------------------------
local function encode(v)
  local t = type(v)
  if t == "nil" then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "table" then
    if #v > 0 or next(v) == nil then
      local out = {}
      for i, x in ipairs(v) do out[i] = encode(x) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    local out = {}
    for k, x in pairs(v) do
      if type(x) ~= "function" then out[#out + 1] = encode(tostring(k)) .. ":" .. encode(x) end
    end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return '"<' .. t .. '>"'
end

local function tracks_of(p)
  local tracks = {}
  for i, t in ipairs(p.tracks) do
    tracks[i] = { name = t.name, items = t.items, mute = t.mute or false, selected = t.selected or false }
  end
  return tracks
end

function stub.dump(path)
  local calls = {}
  for i, c in ipairs(stub.calls) do calls[i] = c.name end
  local first = stub.projects and stub.projects[1] or nil
  local open = {}
  for i, p in ipairs(projects()) do open[i] = { file = p.file, tracks = tracks_of(p) } end
  local f = assert(io.open(path, "w"))
  f:write(encode({
    calls = calls, tracks = tracks_of({ tracks = stub.tracks }), boxes = stub.boxes, renders = stub.renders,
    exec = stub.exec, undo = stub.undo, proj = stub.proj, ext = stub.ext, projext = stub.projext,
    time_sel = stub.time_sel, ticks = stub.ticks, script_error = stub.script_error,
    cursor = stub.cursor, user_inputs_asked = stub.user_inputs_asked, projects = open, active = stub.active,
    toggles = stub.toggles, gfx_frames = stub.gfx_frames, gfx_open = stub.gfx_open or false,
    current_project_calls = stub.current_project_calls,
  }))
  f:close()
end

return stub
