"""Running N workers of a multi-worker job on this machine.

For trying `--strategy=multi_worker` without a cluster, and for tests:
every worker gets a `TF_CONFIG` naming all of them on 127.0.0.1 (free
ports), runs under `timeout -k` (a worker whose peer never comes waits
forever and ignores SIGTERM), and when one fails the others are killed.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time


def free_ports(count):
    """`count` distinct TCP ports that were free a moment ago on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(num_workers, ports=None):
    """The `TF_CONFIG` JSON of each of `num_workers` local workers."""
    ports = ports or free_ports(num_workers)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i in range(num_workers)]


def _timeout_prefix(timeout_s, kill_after_s=10):
    if not timeout_s:
        return []
    if shutil.which("timeout") is None:
        raise RuntimeError("`timeout` (GNU coreutils) is needed to bound the workers.")
    return ["timeout", "-k", str(kill_after_s), str(timeout_s)]


def _pump(stream, prefix, sink):
    for line in iter(stream.readline, ""):
        sink.write(prefix + line)
        sink.flush()
    stream.close()


def launch(command, num_workers, *, timeout_s=0, env=None, cwd=None, output=None):
    """Runs `command` (a list) as `num_workers` workers; returns their exit codes.

    Each worker's output lines go to `output` (default stdout) prefixed
    with `[worker i]`. When a worker exits with an error, the others are
    killed, since they would wait for it forever.
    """
    output = output or sys.stdout
    base = dict(os.environ if env is None else env)
    processes, pumps = [], []
    for index, config in enumerate(tf_configs(num_workers)):
        worker_env = dict(base, TF_CONFIG=config)
        process = subprocess.Popen(
            _timeout_prefix(timeout_s) + list(command), env=worker_env, cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        processes.append(process)
        pump = threading.Thread(target=_pump, args=(process.stdout, f"[worker {index}] ", output),
                                daemon=True)
        pump.start()
        pumps.append(pump)
    codes = [None] * num_workers
    while any(c is None for c in codes):
        for i, process in enumerate(processes):
            if codes[i] is None:
                codes[i] = process.poll()
        if any(c not in (None, 0) for c in codes):
            for i, process in enumerate(processes):
                if codes[i] is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    codes[i] = process.wait()
        time.sleep(0.1)
    for pump in pumps:
        pump.join(timeout=5)
    return codes
