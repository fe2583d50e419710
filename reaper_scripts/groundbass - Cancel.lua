-- @description groundbass: cancel the running job
-- @version 0.2.3
-- @author groundbass contributors
-- @about
--   Stops the groundbass job that is running (started by Generate or one of the Regenerate
--   actions). The job's own loop sends /groundbass/cancel to the bridge (with
--   `groundbass send --cancel JOB`) as soon as the bridge has the job; nothing is inserted
--   and the job's temporary files are removed.
-- @noindex

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local gb = dofile(script_dir .. "groundbass_common.lua")

local job = gb.running_job()
if not job then
  gb.error_box("No groundbass job is running.")
  return
end
gb.request_cancel(job)
