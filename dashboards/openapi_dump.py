"""Write the API's OpenAPI schema to dashboards/openapi.json (input of `npm run gen:api`); no server needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "openapi.json"


def main() -> None:
    from api.main import create_app

    schema = create_app().openapi()
    text = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(schema.get('paths', {}))} paths)")


if __name__ == "__main__":
    main()
