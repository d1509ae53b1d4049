"""Run the simulator in the foreground: ``python -m herald.simulator --port 8700 [--sandbox]``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from herald.simulator.server import SANDBOX_ACCOUNTS, Simulator

logger = logging.getLogger("herald.simulator")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m herald.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="port to listen on (0 = any free port)")
    parser.add_argument(
        "--account-file",
        type=Path,
        help='JSON list of accounts to register: [{"platform": "x", "username": "...", ...credentials}]',
    )
    parser.add_argument("--sandbox", action="store_true", help="register the sandbox accounts")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    simulator = Simulator(args.host, args.port)
    if args.sandbox:
        simulator.add_accounts(SANDBOX_ACCOUNTS)
    if args.account_file is not None:
        accounts = json.loads(args.account_file.read_text(encoding="utf-8"))
        if not isinstance(accounts, list):
            logger.error("account file must hold a JSON list: %s", args.account_file)
            return 2
        simulator.add_accounts(accounts)
    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    simulator.start()
    logger.info(
        "simulator serving %s (feed at %s/_sim/, platforms: %s)",
        simulator.base_url,
        simulator.base_url,
        ", ".join(simulator.platforms),
    )
    try:
        stopping.wait()
    finally:
        simulator.stop()
        logger.info("simulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
