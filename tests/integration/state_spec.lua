-- Private state directories, attacked as another local user would: every case runs in a
-- throwaway `unshare --net --mount` world with its own tmpfs on /run and /tmp, so the
-- directories prepared for the attack (and the victim's files) are the test's alone and
-- never the machine's /tmp/lunshare-UID. The attacker is uid 12345; the victim is nobody
-- (rootless, without XDG_RUNTIME_DIR: the /tmp fallback) or root. #integration #netns
local H = require "helpers"

local BIN = H.bin
local ATTACKER = 12345
local TOPO = [[return { hosts = { lsv1 = {} },
  links = { { { name = "lsva", address = "10.9.0.1/24" }, { host = "lsv1", name = "lsvb", address = "10.9.0.2/24" } } } }]]

-- A shell script run as root in a world of its own: /run and /tmp are private tmpfs, the
-- topology is /run/topo.lua (readable by all), and $N runs a command as nobody without
-- XDG_RUNTIME_DIR. Every command of the victim is bounded by `timeout`.
local function world(script)
  local setup = table.concat({
    -- The binary under test may live in the suite's directory under /tmp: it stays
    -- reachable through a bind under the new /run.
    "mount -t tmpfs tmpfs /run && mkdir /run/bin && mount --bind " .. H.quote(BIN:match("^(.*)/[^/]*$")) ..
      " /run/bin && mount -t tmpfs tmpfs /tmp || exit 99",
    "L=/run/bin/" .. H.quote(BIN:match("([^/]*)$")),
    "printf '%s' " .. H.quote(TOPO) .. " > /run/topo.lua && chmod 644 /run/topo.lua",
    "N='timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups -- env -u XDG_RUNTIME_DIR'",
    "R='timeout 10'",
    -- The victim's files, which the attacks aim at.
    "mkdir -m 755 /run/home && echo 'ssh-ed25519 AAAA victim' > /run/home/authorized_keys && " ..
      "echo important > /run/home/important.txt && chown -R 65534:65534 /run/home && chmod 600 /run/home/*",
    "COUNT='echo links=$(ip -o link | grep -v \" lo:\" | wc -l) netns=$(ip netns list | wc -l)'",
  }, "; ")
  -- A pid namespace too: a holder process any case leaves ends with the world.
  return H.sh("unshare --net --mount --pid --fork --mount-proc sh -c " .. H.quote(setup .. "; " .. script))
end

local function one_line(err)
  return select(2, err:gsub("\n", "\n")) == 1 and err:sub(1, 10) == "lunshare: "
end

describe("state directories (rootless, the /tmp fallback)", function()
  it("refuses a /tmp/lunshare-UID another user made, 0777 with the holder a symlink to the victim's keys", function()
    local r = world(table.concat({
      "D=/tmp/lunshare-65534",
      "mkdir -p -m 777 $D/lunshare/net && chmod 777 $D $D/lunshare $D/lunshare/net",
      "ln -s /run/home/authorized_keys $D/lunshare/net/topo.holder",
      "chown -hR " .. ATTACKER .. ":" .. ATTACKER .. " $D",
      "$N $L net up /run/topo.lua; echo code=$?",
      "cat /run/home/authorized_keys", "eval $COUNT",
    }, "; "))
    assert.truthy(r.out:find("code=1\nssh%-ed25519 AAAA victim\nlinks=0 netns=0\n"), r.out .. r.err)
    assert.truthy(one_line(r.err), r.err)
    assert.truthy(r.err:find("state directory /tmp/lunshare-65534: owned by uid " .. ATTACKER .. ", not by this user", 1, true), r.err)
  end)

  it("refuses one of the victim's own that is open to others, or a symlink to one", function()
    local r = world(table.concat({
      "mkdir -m 777 /tmp/lunshare-65534 && chown 65534 /tmp/lunshare-65534",
      "$N $L net up /run/topo.lua; echo code=$?",
      "rmdir /tmp/lunshare-65534; mkdir -m 700 /run/elsewhere && chown 65534 /run/elsewhere",
      "ln -s /run/elsewhere /tmp/lunshare-65534",
      "$N $L net up /run/topo.lua; echo code=$?",
      "ls -A /run/elsewhere | wc -l", "eval $COUNT",
    }, "; "))
    assert.truthy(r.out:find("code=1\ncode=1\n0\nlinks=0 netns=0\n", 1, true), r.out .. r.err)
    assert.truthy(r.err:find("state directory /tmp/lunshare-65534: writable by others (mode 0777)", 1, true), r.err)
    assert.truthy(r.err:find("state directory /tmp/lunshare-65534: is a symlink", 1, true), r.err)
  end)

  it("down refuses a state another user rewrote to point at the victim's files, and unlinks nothing", function()
    -- The reproduced attack: the victim's up used the attacker's directory; the attacker
    -- then put a state of their own in it (in the journal's old form, code that down ran)
    -- and a symlink to the victim's home in place of the pins' directory.
    local r = world(table.concat({
      "D=/tmp/lunshare-65534",
      "mkdir -m 777 $D && chown " .. ATTACKER .. " $D",
      "$N $L net up /run/topo.lua >/dev/null; echo up=$?",
      "if [ -d $D/lunshare ]; then mv $D/lunshare $D/old; fi",
      "mkdir -p -m 777 $D/lunshare/net && cp $D/old/net/topo.holder $D/lunshare/net/ 2>/dev/null",
      [[printf 'add("hosts","important.txt")\n' > $D/lunshare/net/topo.state]],
      "ln -s /run/home $D/lunshare/netns",
      "chown -hR " .. ATTACKER .. ":" .. ATTACKER .. " $D/lunshare",
      "$N $L net down /run/topo.lua; echo code=$?",
      "cat /run/home/important.txt",
    }, "; "))
    assert.equal("up=1\ncode=1\nimportant\n", r.out, r.err)
    assert.truthy(r.err:find("owned by uid " .. ATTACKER, 1, true), r.err)
  end)

  it("never follows a symlink in place of the victim's own netns directory", function()
    -- Even in a base the victim owns: the pins' directory is verified like the others.
    local r = world(table.concat({
      "D=/tmp/lunshare-65534",
      "mkdir -p -m 700 $D/lunshare/net",
      -- As the journal of Lua calls was, which `down` used to run.
      [[printf 'add("hosts","important.txt")\n' > $D/lunshare/net/topo.state]],
      "ln -s /run/home $D/lunshare/netns",
      "chown -hR 65534:65534 $D; chmod 600 $D/lunshare/net/topo.state",
      "$N $L net down /run/topo.lua; echo code=$?",
      "cat /run/home/important.txt",
    }, "; "))
    assert.equal("code=1\nimportant\n", r.out, r.err)
    assert.truthy(r.err:find("state directory /tmp/lunshare-65534/lunshare/netns: is a symlink", 1, true), r.err)
  end)

  it("a state file that is code, not data, fails at once, names the file and changes nothing", function()
    local r = world(table.concat({
      "$N $L net up /run/topo.lua >/dev/null; echo up=$?",
      "S=/tmp/lunshare-65534/lunshare/net/topo.state; cp $S /run/good.state",
      "printf 'while true do end\\n' > $S",
      "start=$(date +%s); $N $L net down /run/topo.lua; echo code=$? secs=$(( $(date +%s) - start ))",
      "$N $L net up /run/topo.lua; echo up=$?",
      "cat $S",
      -- Put the real state back: down then removes everything.
      "cp /run/good.state $S; $N $L net down /run/topo.lua >/dev/null; echo down=$?",
      -- The holder ends after down returns: wait for what it leaves to go, then show it.
      H.wait_until('[ "$(eval $COUNT)" = "links=0 netns=0" ] && [ -z "$(ls -A /tmp)" ]', 10) ..
        "; eval $COUNT; ls -A /tmp | wc -l",
    }, "; "))
    local secs = tonumber(r.out:match("secs=(%d+)"))
    assert.truthy(r.out:find("up=0\ncode=1 secs=", 1, true), r.out .. r.err)
    assert.truthy(secs and secs < 3, r.out)
    assert.truthy(r.out:find("\nup=1\nwhile true do end\ndown=0\nlinks=0 netns=0\n0\n", 1, true), r.out .. r.err)
    local lines = H.lines(r.err)
    assert.equal(2, #lines, r.err)
    for _, l in ipairs(lines) do
      assert.equal("lunshare: /tmp/lunshare-65534/lunshare/net/topo.state: not a valid state file (line 1: " ..
        "expected a value at byte 1); nothing was changed", l)
    end
  end)

  it("an oversized state file or holder file is refused by name", function()
    local r = world(table.concat({
      "D=/tmp/lunshare-65534/lunshare/net; mkdir -p $D; chmod -R 700 /tmp/lunshare-65534",
      "head -c 2097152 /dev/zero | tr '\\0' ' ' > $D/topo.state",
      "chown -R 65534:65534 /tmp/lunshare-65534",
      "$N $L net down /run/topo.lua; echo code=$?",
      "rm $D/topo.state; printf '1 2 3 4\\n' > $D/topo.holder; chown 65534 $D/topo.holder",
      "$N $L net status /run/topo.lua; echo code=$?",
    }, "; "))
    assert.equal("code=1\ncode=1\n", r.out, r.err)
    assert.truthy(r.err:find("lunshare: /tmp/lunshare-65534/lunshare/net/topo.state: larger than 1 MiB; nothing was changed\n", 1, true), r.err)
    assert.truthy(r.err:find("topo.holder: not a valid holder file", 1, true), r.err)
  end)

  it("makes its directories exactly 0700, whatever the umask and the parent, and removes them at down", function()
    -- A mkdir(0700) alone (1500d15's) makes 2700 under a setgid parent, which a new
    -- directory inherits, and 0500 under a umask of 0277 (whose up then failed inside):
    -- the mode is 0700 because it is set on each new directory, not because the usual
    -- umask and a plain /tmp happen to leave it so.
    local DIRS = "/tmp/lunshare-65534 /tmp/lunshare-65534/lunshare /tmp/lunshare-65534/lunshare/net " ..
      "/tmp/lunshare-65534/lunshare/netns"
    local r = world(table.concat({
      "chmod 3777 /tmp",
      "for u in 0022 0277; do umask $u; echo \"--- umask $u\"",
      "$N $L net up /run/topo.lua >/dev/null; echo up=$?; stat -c '%a %U %n' " .. DIRS,
      "$N $L net down /run/topo.lua >/dev/null; echo down=$?; ls -A /tmp | wc -l; done",
    }, "; "))
    local MODES = "700 nobody /tmp/lunshare-65534\n700 nobody /tmp/lunshare-65534/lunshare\n" ..
      "700 nobody /tmp/lunshare-65534/lunshare/net\n700 nobody /tmp/lunshare-65534/lunshare/netns\n"
    for _, u in ipairs({ "0022", "0277" }) do
      local up, modes, down = r.out:match("%-%-%- umask " .. u .. "\n(up=%d+)\n(.-)(down=%d+\n%d+\n)")
      assert.truthy(up, r.out .. r.err)
      -- The modes first: they are this test's point (an up that failed inside leaves none).
      assert.equal(MODES, modes, "umask " .. u .. ": " .. r.err)
      assert.equal("up=0", up, r.err)
      assert.equal("down=0\n0\n", down, r.err)
    end
  end)
end)

describe("state directories (root)", function()
  it("refuses a /run/lunshare that is not root's own", function()
    local r = world(table.concat({
      "mkdir -m 777 /run/lunshare && chown " .. ATTACKER .. " /run/lunshare",
      "$R $L net up /run/topo.lua; echo code=$?", "eval $COUNT",
      "chown root /run/lunshare; $R $L net up /run/topo.lua; echo code=$?",
    }, "; "))
    assert.equal("code=1\nlinks=0 netns=0\ncode=1\n", r.out, r.err)
    assert.truthy(r.err:find("state directory /run/lunshare: owned by uid " .. ATTACKER, 1, true), r.err)
    assert.truthy(r.err:find("state directory /run/lunshare: writable by others (mode 0777)", 1, true), r.err)
  end)

  it("a state file that is code, or names another directory, fails at once and changes nothing", function()
    local r = world(table.concat({
      "$R $L net up /run/topo.lua >/dev/null; echo up=$?",
      "S=/run/lunshare/net/topo.state; cp $S /run/good.state",
      "printf 'while true do end\\n' > $S; $R $L net down /run/topo.lua; echo code=$?",
      [[printf '{"add":"hosts","x":"../../run/home"}\n' > $S; $R $L net down /run/topo.lua; echo code=$?]],
      [[printf '{"add":"hosts","x":"lsv1"}\n{"drop":"hosts"}\n{"drop":"hosts"}\n' > $S; $R $L net down /run/topo.lua; echo code=$?]],
      "ip netns list | cut -d' ' -f1; ls /run/home | wc -l",
      "cp /run/good.state $S; $R $L net down /run/topo.lua >/dev/null; echo down=$?; eval $COUNT; test -e /run/lunshare && echo left || echo gone",
    }, "; "))
    assert.equal("up=0\ncode=1\ncode=1\ncode=1\nlsv1\n2\ndown=0\nlinks=0 netns=0\ngone\n", r.out, r.err)
    assert.truthy(r.err:find("topo.state: not a valid state file (line 1: expected a value at byte 1)", 1, true), r.err)
    assert.truthy(r.err:find("topo.state: not a valid state file (line 1: not a valid record of hosts)", 1, true), r.err)
    assert.truthy(r.err:find("topo.state: not a valid state file (line 3: a drop with nothing to drop)", 1, true), r.err)
  end)
end)

-- Mount sources in directories another user can change (issue #9 review, F3): a symlink
-- is followed only where no other user could have put it (its directory owned by the
-- caller or root and writable by no one else, or sticky with the symlink the caller's or
-- root's); explain shows the resolved source, and the executor follows no symlink at all.
for _, who in ipairs({ { "rootless", "$N" }, { "root", "$R" } }) do
  describe("mount sources another user prepared (" .. who[1] .. ")", function()
    local V = who[2]
    local BUILD = [[return { extends = "default", mounts = { bind("/tmp/rv9s/src", "/src") } }]]
    it("a bind source swapped for a symlink to the victim's files is refused, and nothing is read or written", function()
      local r = world(table.concat({
        "mkdir -m 755 /tmp/rv9s && mkdir -m 777 /tmp/rv9s/src && chown -R " .. ATTACKER .. " /tmp/rv9s",
        "printf '%s' " .. H.quote(BUILD) .. " > /run/build.lua && chmod 644 /run/build.lua",
        -- The victim's check and run while the source is a plain directory: it is used.
        V .. " $L run /run/build.lua -- sh -c 'echo ok > /src/y'; echo first=$?",
        -- The attack: the source becomes a symlink to the victim's home.
        "mv /tmp/rv9s/src /tmp/rv9s/src.old && ln -s /run/home /tmp/rv9s/src && chown -h " .. ATTACKER .. " /tmp/rv9s/src",
        V .. " $L run /run/build.lua -- sh -c 'cat /src/important.txt; echo pwned > /src/x'; echo run=$?",
        V .. " $L explain /run/build.lua >/dev/null; echo explain=$?",
        V .. " $L check --strict /run/build.lua; echo check=$?",
        "ls /run/home | tr '\\n' ' '; echo",
      }, "; "))
      assert.equal("first=0\nrun=2\nexplain=2\ncheck=2\nauthorized_keys important.txt \n", r.out, r.err)
      assert.is_nil(r.out:find("important", 1, true) and r.out:find("important\n", 1, true))
      assert.truthy(r.err:find("/run/build.lua:1: mounts[1].src: /tmp/rv9s/src is a symlink in a directory uid " ..
        ATTACKER .. " owns: not followed", 1, true), r.err)
    end)

    it("follows root's and the caller's own symlinks, and shows the resolved source", function()
      local r = world(table.concat({
        -- /tmp is sticky and open to all: a symlink there is followed when it is the
        -- caller's (or root's), never when it is another user's.
        "mkdir -m 755 /run/data && echo data > /run/data/f && ln -s /run/data /tmp/mine && ln -s /run/home /tmp/theirs",
        "chown -h " .. (who[1] == "root" and "0" or "65534") .. " /tmp/mine && chown -h " .. ATTACKER .. " /tmp/theirs",
        "mkdir -m 755 /run/l && ln -s ../data /run/l/rel",
        [[printf 'return { extends = "default", mounts = { ro_bind("/tmp/mine", "/a"), ro_bind("/run/l/rel", "/b") } }' > /run/ok.lua]],
        [[printf 'return { extends = "default", mounts = { ro_bind("/tmp/theirs", "/a") } }' > /run/bad.lua]],
        "chmod 644 /run/ok.lua /run/bad.lua",
        V .. " $L run /run/ok.lua -- sh -c 'cat /a/f /b/f'; echo ok=$?",
        V .. " $L explain /run/ok.lua | grep -c 'rbind.* /run/data /newroot/[ab]'",
        V .. " $L run /run/bad.lua -- true; echo bad=$?",
      }, "; "))
      assert.equal("data\ndata\nok=0\n2\nbad=2\n", r.out, r.err)
      assert.truthy(r.err:find("/tmp/theirs is a symlink in a directory its others can write (mode 1777), and owned by " ..
        "another user: not followed", 1, true), r.err)
    end)
  end)
end

-- Two commands on one topology at once (issue #9 review, F7): the state area's lock makes
-- the second wait for the first, then find it up; no internal error, no traceback, and one
-- down leaves nothing (no second holder, no link, no netns).
for _, who in ipairs({ { "rootless", "$N" }, { "root", "$R" } }) do
  describe("concurrent net commands (" .. who[1] .. ")", function()
    it("two net up at once: one makes the topology, the other finds it up; one down ends it all", function()
      local V = who[2]
      local r = world(table.concat({
        "for i in 1 2 3; do",
        "  " .. V .. " $L net up /run/topo.lua >/run/o1 2>&1 & " .. V .. " $L net up /run/topo.lua >/run/o2 2>&1 & " ..
          V .. " $L net status /run/topo.lua >/run/o3 2>&1 & wait",
        "  cat /run/o1 /run/o2 /run/o3 >> /run/all",
        "  " .. V .. " $L net down /run/topo.lua >/dev/null 2>>/run/all; echo down=$?",
        -- (a holder killed a moment ago may take that moment to go; a zombie is gone)
        "  n=0; while [ $n -lt 40 ] && ps -eo stat=,comm= | grep -v '^Z' | grep -q lunshare; do sleep 0.05; n=$((n+1)); done",
        "  echo procs=$(ps -eo stat=,comm= | grep -v '^Z' | grep -c lunshare)",
        "  eval $COUNT",
        "done",
        "grep -c 'up already, nothing to change' /run/all",
        "grep -ci 'internal error\\|traceback\\|invalid argument' /run/all",
      }, "\n"))
      local once = "down=0\nprocs=0\nlinks=0 netns=0\n"
      assert.equal(once .. once .. once .. "3\n0\n", r.out, r.err .. r.out)
    end)
  end)
end
