"""Consumer instructions per event, counted by callgrind, for this checkout and another commit on the same events.

    python -m bench.instructions --base 3b05228            # 6,000 generated messages (the valid ones)
    python -m bench.instructions --base 3b05228 --events 3000

Wall-clock figures on this shared 2-core machine drift by up to 2x within an hour; instruction counts do not. The
base commit is exported with ``git archive`` to a temporary folder; its generator makes the events (older code
may not read newer optional fields), both versions consume the same published topics into their own fresh
databases, and each count has a consume of empty topics (start-up, imports, schema check) subtracted. Only the
consumer process is counted, not PostgreSQL or the broker. Needs ``valgrind``. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from app.embedded import with_database
from app.settings import Settings
from bench.harness import REPO, cli_env, make_settings, new_topics, producer, servers

GENERATE = """
import pickle, sys
from producers.generator import GeneratorConfig, generate
config = GeneratorConfig.for_event_count(int(sys.argv[1]), seed=20261101)
msgs = [(m.key, m.value, list(m.headers)) for m in generate(config) if m.kind == "valid"]
pickle.dump(msgs, open(sys.argv[2], "wb"))
"""


def _count(settings: Settings, admin_url: str, src: Path, label: str, work: Path) -> int:
    """Instructions of one ``consume --until-caught-up`` of ``src``'s code into a fresh database."""
    url = with_database(admin_url, f"instr_{label}_{uuid.uuid4().hex[:6]}")
    env = cli_env(settings.model_copy(update={"database_url": url}))
    env.update(PYTHONPATH=str(src), PYTHONHASHSEED="0")
    cli = [sys.executable, "-m", "casetrack.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=src, check=True, capture_output=True)
    out = work / f"callgrind.{label}"
    run = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        *cli,
        "consume",
        "--until-caught-up",
    ]
    subprocess.run(run, env=env, cwd=src, check=True, capture_output=True)
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    assert found, f"no total in {out}"
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the commit to compare with (any git revision)")
    p.add_argument(
        "--events", type=int, default=6000, help="generated messages (the valid ones are consumed)"
    )
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="casetrack-instr-"))
    base = work / "base"
    base.mkdir()
    archive = subprocess.run(["git", "archive", args.base], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    events = work / "events.pkl"
    subprocess.run([sys.executable, "-c", GENERATE, str(args.events), str(events)], cwd=base, check=True)
    with events.open("rb") as f:  # our own file, just written
        msgs: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = pickle.load(f)
    with servers() as s:
        full, empty = new_topics("full"), new_topics("empty")
        topics = {"full": full, "empty": empty}
        settings = {n: make_settings(s.bootstrap, s.admin_url, t, work / "data") for n, t in topics.items()}
        prod = producer(s.bootstrap)
        topic_of = {"case": full.case, "supervision": full.supervision, "rectification": full.rectification}
        for key, value, headers in msgs:
            h = dict(headers)
            kind = h["ce_type"].decode() if "ce_type" in h else json.loads(value)["type"]
            prod.send(topic_of[kind.split(".")[0]], key=key, value=value, headers=headers)
        prod.flush()
        prod.close()
        per_event = {}
        for label, src in (("base", base), ("this", REPO)):
            counts = {
                name: _count(settings[name], s.admin_url, src, f"{label}_{name}", work) for name in topics
            }
            per_event[label] = (counts["full"] - counts["empty"]) / len(msgs)
            print(
                f"{label:5s} {per_event[label]:>12,.0f} instructions per event ({len(msgs):,} events)",
                flush=True,
            )
    print(f"this / base: {per_event['this'] / per_event['base']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
