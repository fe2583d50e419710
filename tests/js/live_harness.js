// Runs ableton/groundbass_live.js under node with stand-ins for what Max's js object gives it
// (outlet, arrayfromargs, File, LiveAPI), sends it the messages of a scenario and prints what
// came out as JSON. Usage: node live_harness.js <groundbass_live.js> '<scenario JSON>'
// Scenario: {messages: [[name, args...], ...], existing: [paths], live_major: 12 (absent: not
// in Live), song_time: beats, tracks: n, selected_path: "live_set tracks 1", selected_audio: true}.
// In messages, "$job" and "$out" stand for the job id and output path of the last request sent.
"use strict";
const fs = require("fs");
const vm = require("vm");

const [, , jsPath, scenarioText] = process.argv;
const sc = JSON.parse(scenarioText);
const result = { outlets: [], calls: [] };
let tracks = sc.tracks || 0;

function LiveAPI(path) {
  if (sc.live_major === undefined) throw new Error("LiveAPI is only there inside Live");
  this.path = path;
  this.unquotedpath = path === "live_set view selected_track" ? sc.selected_path : path;
}
LiveAPI.prototype.get = function (prop) {
  if (prop === "current_song_time") return [sc.song_time];
  if (prop === "has_audio_input") return [sc.selected_audio ? 1 : 0];
  throw new Error("stand-in has no property " + prop);
};
LiveAPI.prototype.set = function (prop, value) { result.calls.push(["set", this.unquotedpath, prop, value]); };
LiveAPI.prototype.getcount = function (what) { return what === "tracks" ? tracks : 0; };
LiveAPI.prototype.call = function (name, ...args) {
  result.calls.push(["call", this.unquotedpath, name, ...args]);
  if (name === "get_major_version") return sc.live_major;
  if (name === "create_audio_track") tracks += 1;
  return undefined;
};

function File(path) { this.isopen = (sc.existing || []).includes(path); }
File.prototype.close = function () {};

const context = {
  outlet: (n, value) => result.outlets.push([n, value]),
  post: () => {},
  arrayfromargs: (args) => Array.prototype.slice.call(args),
  LiveAPI, File,
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(jsPath, "utf8"), context, { filename: jsPath });
for (const [name, ...args] of sc.messages) {
  const last = result.outlets.filter(([n, v]) => n === 0 && v[0] === "/groundbass/generate").pop();
  context[name](...args.map((a) => (a === "$job" ? last[1][1] : a === "$out" ? last[1][3] : a)));
}
process.stdout.write(JSON.stringify(result));
