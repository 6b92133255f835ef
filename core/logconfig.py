"""One logging configuration for the command line and every server worker.

uvicorn starts each worker as a fresh (spawned) process whose only logging set-up is uvicorn's
`log_config`, so the configuration is a dict handed to uvicorn: configured in the parent alone,
the workers' `tongxin.*` loggers had no handler, their INFO request lines were dropped and
their errors fell through to Python's bare last-resort handler. The pid on every line tells
the workers apart."""

from __future__ import annotations

import logging.config
import os
from typing import Any

LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s %(message)s"


def log_level() -> str:
    return os.environ.get("LOG_LEVEL", "info").upper()


def logging_config(level: str) -> dict[str, Any]:
    """Every logger (ours, uvicorn's, libraries') writes through one stderr handler, formatted
    alike; uvicorn applies it in each worker as it starts."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"format": LOG_FORMAT}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default",
                                 "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["default"], "level": level},
    }


def configure_logging(level: str) -> None:
    logging.config.dictConfig(logging_config(level))
