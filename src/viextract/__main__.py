"""`python -m viextract` is the `viextract` command."""

from .cli import main

raise SystemExit(main())
