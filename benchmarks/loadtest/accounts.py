"""Director accounts for the load test, written to a JSON file the locustfile reads.

    python -m benchmarks.loadtest.accounts OUT.json [--users 50]

Run by benchmarks/loadtest/run.py on the freshly seeded template database (seed_scale's directors,
``scale_d_<village code>``, have no usable password). Picks directors spread over the synthetic
province whose village holds children, gives them one password (hashed once with the production
hasher) and an API token each, and lists the children of their village.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path


def prepare_accounts(*, users: int) -> list[dict[str, object]]:
    """Ready ``users`` directors (password + API token) and return them with their children."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import Role, User
    from accounts.services import api_token_create
    from children.models import Child, ChildStatus

    villages = Child.objects.filter(status=ChildStatus.ACTIVE).values("village_id")
    candidates = list(
        User.objects.filter(
            username__startswith="scale_d_",
            role=Role.DIRECTOR,
            is_active=True,
            area_id__in=villages,
        )
        .order_by("username")
        .values_list("pk", "username", "area_id")
    )
    if len(candidates) < users:
        raise SystemExit(f"only {len(candidates)} directors with children; {users} needed")
    step = len(candidates) // users
    chosen = candidates[::step][:users]
    password = secrets.token_urlsafe(16)
    accounts: list[dict[str, object]] = []
    with transaction.atomic():
        User.objects.filter(pk__in=[pk for pk, _, _ in chosen]).update(
            password=make_password(password)
        )
        for pk, username, village in chosen:
            children = [
                str(child_id)
                for child_id in Child.objects.filter(
                    village_id=village, status=ChildStatus.ACTIVE
                ).values_list("pk", flat=True)
            ]
            accounts.append(
                {
                    "username": username,
                    "password": password,
                    "token": api_token_create(user=User.objects.get(pk=pk)),
                    "village": village,
                    "children": children,
                }
            )
    return accounts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.loadtest")
    import django

    django.setup()
    accounts = prepare_accounts(users=args.users)
    args.out.write_text(json.dumps(accounts, ensure_ascii=False, indent=1), encoding="utf-8")
    children = sum(len(a["children"]) for a in accounts)  # type: ignore[arg-type]
    print(f"loadtest accounts: {len(accounts)} directors, {children} children in their villages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
