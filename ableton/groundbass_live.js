// groundbass_live.js: the [js groundbass_live.js] object of ableton/groundbass.maxpat (keep the
// two files in one folder). It builds the generate and cancel requests for [udpsend], and
// when a job is done puts its bass into Live's arrangement (Live 12: Track.create_audio_clip).
//
// Messages in:   generate <mix path>     a job for this mix (a slash path from [conformpath slash boot])
//                overwrite 0|1           1: reuse one output name and send `overwrite 1`
//                target 0|1              1: put the bass on the selected audio track, else a new one
//                cancel                  cancel the last job
//                done <job> <path> ...   from [route /groundbass/done]
//                error <job> <message>   from [route /groundbass/error]
// Outlet 0: OSC messages for [udpsend 127.0.0.1 9030]. Outlet 1: one line of status text.
// Plain ES5 (Max's js object); nothing here runs until a message arrives.

inlets = 1;
outlets = 2;

var REPLY_PORT = 9031;
var jobs = {};            // job id -> {out, position (beats, or null outside Live)}
var count = 0;            // jobs sent from this device
var next_number = 1;      // the next output number to try
var last_job = null;
var replace = false;      // the overwrite toggle
var on_selected = false;  // the target toggle
var session = (new Date().getTime() % 2176782336).toString(36);  // keeps job ids unique across sessions

function status(text) {
    outlet(1, text);
}

function exists(path) {
    var f = new File(path, "read");
    var open = f.isopen;
    if (open) f.close();
    return open;
}

// The output path for a mix: <stem>-groundbass.wav with overwrite on, else
// <stem>-groundbass-<n>.wav with a number used by no earlier job of this device and no
// existing file, so a second click never collides (not even before the first is written).
function output_path(mix) {
    var stem = mix.replace(/\.[^.\/]*$/, "");
    if (replace) return stem + "-groundbass.wav";
    var path;
    do {
        path = stem + "-groundbass-" + next_number + ".wav";
        next_number += 1;
    } while (exists(path));
    return path;
}

// The arrangement position of the insert marker / playhead, in beats (null outside Live).
function song_position() {
    try {
        return Number(new LiveAPI("live_set").get("current_song_time")[0]);
    } catch (e) {
        return null;
    }
}

function generate(mix) {
    mix = String(mix);
    count += 1;
    var job = "m4l-" + session + "-" + count;
    var out = output_path(mix);
    jobs[job] = { out: out, position: song_position() };
    last_job = job;
    var msg = ["/groundbass/generate", job, mix, out];
    if (replace) msg.push("overwrite", 1);
    msg.push("reply_port", REPLY_PORT);
    outlet(0, msg);
    status("sent " + job + " -> " + out);
}

function overwrite(v) {
    replace = Number(v) !== 0;
}

function target(v) {
    on_selected = Number(v) !== 0;
}

function cancel() {
    if (last_job === null) {
        status("no job to cancel");
        return;
    }
    outlet(0, ["/groundbass/cancel", last_job, "reply_port", REPLY_PORT]);
}

function error(job) {
    var words = arrayfromargs(arguments).slice(1);
    if (jobs[job] !== undefined) delete jobs[job];
    status("error " + job + ": " + words.join(" "));
}

// The track to put the bass on: the selected track when asked for and it is an audio track,
// else a new audio track at the end.
function target_track(job) {
    if (on_selected) {
        var sel = new LiveAPI("live_set view selected_track");
        var path = String(sel.unquotedpath);
        if (/^live_set tracks \d+$/.test(path) && Number(sel.get("has_audio_input")[0]) === 1) return sel;
    }
    var song = new LiveAPI("live_set");
    song.call("create_audio_track", -1);
    var track = new LiveAPI("live_set tracks " + (song.getcount("tracks") - 1));
    track.set("name", "groundbass " + job);
    return track;
}

function done(job, path) {
    var info = jobs[job];
    if (info === undefined) return;  // not one of ours
    delete jobs[job];
    path = String(path);
    var major;
    try {
        major = Number(new LiveAPI("live_app").call("get_major_version"));
    } catch (e) {
        major = 0;
    }
    if (!(major >= 12) || info.position === null) {
        status("done: drag " + path + " into an audio track (automatic placement needs Live 12)");
        return;
    }
    target_track(job).call("create_audio_clip", path, info.position);
    status("done: " + path + " placed at beat " + info.position);
}
