#!/usr/bin/env bash
# Records the fixtures of src/docker/read.rs and swarm.rs: sets up one
# scenario (a swarm of one node, a bridge network with IPAM and labels, an
# attachable overlay, a running container with aliases, env, volume, bind,
# anonymous volume and published ports, a container never started, a
# replicated and a global service) on a FRESH engine whose socket is $1, and
# writes the answers berth reads into directory $2 (lists trimmed to the
# scenario's objects, otherwise as Docker sent them).
#
#   src/docker/testdata/record.sh /tmp/e/docker.sock src/docker/testdata/engine-26.1
#
# Engines 26.1 and 28.5 were started with .ci/newer-engine (28.5: SUITE=sid),
# 20.10 the same way with Debian 12's own dockerd and containerd.
set -euo pipefail
S=$1; OUT=$2
d() { docker -H "unix://$S" "$@"; }
get() { curl -sf --unix-socket "$S" "http://docker$1"; }
d swarm init --advertise-addr 127.0.0.1 >/dev/null
d network create --label berth.test=fixture --subnet 10.77.0.0/24 --gateway 10.77.0.1 --ip-range 10.77.0.128/25 -o com.docker.network.bridge.enable_icc=true fx-net >/dev/null
d network create -d overlay --attachable --subnet 10.78.0.0/24 fx-ov >/dev/null
d volume create fx-vol >/dev/null
d run -d --name fx-web --network fx-net --network-alias web --network-alias www -e A=1 -e B=x=y -e EMPTY -v fx-vol:/data -v /tmp:/host:ro -v /anon -p 127.0.0.1:18080:80 -p 18081:81/udp --expose 90 --label app=web berth-test/busybox:1 sleep 3600 >/dev/null
d create --name fx-stopped --label app=stopped berth-test/busybox:1 true >/dev/null
d service create -d --name fx-svc --replicas 2 --network name=fx-ov,alias=svc --mount type=volume,source=fx-svol,target=/d --mount type=bind,source=/tmp,target=/t --update-order start-first --update-failure-action rollback --update-parallelism 1 -p 18082:80 --label team=a berth-test/busybox:1 sleep 3600 >/dev/null 2>&1
d service create -d --name fx-global --mode global --endpoint-mode dnsrr berth-test/busybox:1 sleep 3600 >/dev/null 2>&1
sleep 3
mkdir -p "$OUT"
get /networks | python3 -c 'import json,sys; print(json.dumps([n for n in json.load(sys.stdin) if n["Name"] in ("fx-net","fx-ov","bridge")], indent=1))' > "$OUT/networks.json"
get '/containers/json?all=true' | python3 -c 'import json,sys; print(json.dumps([c for c in json.load(sys.stdin) if c["Names"][0] in ("/fx-web","/fx-stopped")], indent=1))' > "$OUT/containers.json"
get /containers/fx-web/json | python3 -m json.tool --indent 1 > "$OUT/inspect-web.json"
get /containers/fx-stopped/json | python3 -m json.tool --indent 1 > "$OUT/inspect-stopped.json"
get /networks/fx-net | python3 -m json.tool --indent 1 > "$OUT/network-fx-net.json"
get /images/json | python3 -m json.tool --indent 1 > "$OUT/images.json"
get /nodes | python3 -m json.tool --indent 1 > "$OUT/nodes.json"
get /services | python3 -m json.tool --indent 1 > "$OUT/services.json"
get /version | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["Version"], v["ApiVersion"])' > "$OUT/VERSION"
