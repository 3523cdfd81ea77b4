"""``tessera serve --model-repository DIR`` (also ``python -m tessera.serve``)."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """The command line: ``tessera serve --model-repository DIR [--host H] [--rest-port P] [--grpc-port P]
    [--poll-seconds S] [--max-body-bytes N]``; returns the exit status.

    Example:
        >>> main(["serve", "--model-repository", "models", "--rest-port", "8501"])  # doctest: +SKIP
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        argv = argv[1:]
    desc = ("Serve a Tessera model repository over REST (TF Serving's /v1 API). "
            "gRPC is not served yet: --grpc-port is accepted and ignored.")  # fmt: skip
    p = argparse.ArgumentParser(prog="tessera serve", description=desc)
    p.add_argument("--model-repository", required=True, help="DIR/NAME/VERSION/model.tessera (or model.onnx)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--rest-port", type=int, default=8501)
    p.add_argument("--grpc-port", type=int, default=8500, help="accepted; gRPC is not served yet")
    p.add_argument("--poll-seconds", type=float, default=5.0, help="rescan the repository (0: never)")
    p.add_argument("--max-body-bytes", type=int, default=64 * 1024 * 1024)
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from .server import Server

    try:
        srv = Server(args.model_repository, host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port,
                     poll_seconds=args.poll_seconds, max_body_bytes=args.max_body_bytes)  # fmt: skip
    except (ValueError, OSError, TypeError) as e:
        print(f"tessera serve: {e}", file=sys.stderr)
        return 2
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
