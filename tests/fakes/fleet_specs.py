#!/usr/bin/env python3
"""The fleet a large-scale run uses: its specs, and the fake daemon's fleet that runs them.

  fleet_specs.py specs DIR N [PER_FILE]
      N Deployments d1..dN (role business, one replica of auriga-demo-node:v1) in DIR, PER_FILE
      to a file (default: one a file up to 10,000, past it as many as keep to 5,000 files, a load
      reading at most 10,000 files and 1,000 documents a file).

  fleet_specs.py fleet PLAN_JSON OUT INSTANCE LABEL
      The fleet file tests/fakes/fleet_dockerd.py reads (OUT), running what `auriga plan --json`
      against the empty host said (PLAN_JSON): every deployment at its desired revision and
      replicas, labelled as INSTANCE's and with LABEL (key=value).
"""
import json
import os
import sys


def specs(folder, n, per):
    os.makedirs(folder, exist_ok=True)
    for i in range(1, n + 1):
        with open(f"{folder}/d{(i - 1) // per + 1}.yaml", "a") as f:
            f.write(f"""---
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: d{i}
spec:
  role: business
  replicas: 1
  template:
    image: auriga-demo-node:v1
""")


def fleet(plan, out, inst, label):
    with open(plan) as f:
        p = json.load(f)
    deps = [{"name": d["name"], "revision": d["revision"], "replicas": d["desired"]}
            for ph in p["phases"] for d in ph["deployments"]]
    k, _, v = label.partition("=")
    with open(out, "w") as f:
        json.dump({"instance": inst, "image": "auriga-demo-node:v1", "labels": {k: v},
                   "deployments": deps}, f)


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "specs":
        n = int(argv[3])
        per = int(argv[4]) if len(argv) == 5 else (max(1, -(-n // 5000)) if n > 10000 else 1)
        specs(argv[2], n, per)
    elif len(argv) == 6 and argv[1] == "fleet":
        fleet(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
