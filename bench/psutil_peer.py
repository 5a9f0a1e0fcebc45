"""The same metric set as one SONAR collect(), gathered with psutil; prints per-sample timings as JSON.

Run with Debian's /usr/bin/python3 (python3-psutil). Usage: psutil_peer.py SAMPLES SPACING_SECONDS
"""
import json
import sys
import time

import psutil


def sample():
    psutil.cpu_times_percent(percpu=False)
    psutil.cpu_percent(percpu=True)
    psutil.virtual_memory()
    psutil.swap_memory()
    psutil.disk_partitions(all=False)
    psutil.disk_usage("/")
    psutil.disk_io_counters(perdisk=True)
    psutil.net_io_counters(pernic=True)
    psutil.sensors_temperatures()
    psutil.sensors_battery()
    psutil.getloadavg()
    psutil.boot_time()


def main():
    samples = int(sys.argv[1])
    spacing = float(sys.argv[2])
    sample()  # baselines for the percentages
    walls, cpus = [], []
    for _ in range(samples):
        time.sleep(spacing)
        w0, c0 = time.perf_counter(), time.process_time()
        sample()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    print(json.dumps({"wall_ms": walls, "cpu_ms": cpus, "psutil": psutil.__version__}))


main()
