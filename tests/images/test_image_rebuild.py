"""Layer reuse and metadata freshness on a rebuild (structure only: build times are printed by
`make image-bench`, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import manifests
import pytest
from tooling import podman as podman_tool
from tooling import service_images

from tests.images import harness

pytestmark = [pytest.mark.slow, pytest.mark.tool("podman")]

SERVICE = manifests.load_all()[0].name


def test_code_change_rebuilds_only_the_app_and_refreshes_metadata(tmp_path: Path) -> None:
    m = manifests.get(SERVICE)
    before = service_images.inspect(harness.build_service_image(SERVICE).image)
    context = harness.copy_context(tmp_path)
    main = context / SERVICE / m.package / "main.py"
    main.write_text(main.read_text() + "\n# a code change\n")
    # What services/.dockerignore keeps out of every image, even inside the package folder.
    (context / SERVICE / m.package / "tests").mkdir()
    (context / SERVICE / m.package / "tests" / "test_local.py").write_text("")
    (context / SERVICE / m.package / "local.pem").write_text("not a real key")
    (context / SERVICE / m.package / ".env").write_text("API_KEY=not-a-real-key")
    after_ref = service_images.build(SERVICE, tag="rebuild", context=context).image
    after = service_images.inspect(after_ref)

    layers_before, layers_after = before["RootFS"]["Layers"], after["RootFS"]["Layers"]
    assert len(layers_before) == len(layers_after)
    # base, users, virtualenv: reused as they are; the app layer is new.
    assert layers_before[:3] == layers_after[:3]
    assert layers_before[3] != layers_after[3]
    # podman's layer cache keys ENV/LABEL steps by their text only; the image-info step in the
    # Dockerfile makes them follow the build args (here: the version label) all the same.
    assert before["Config"]["Labels"]["org.opencontainers.image.version"] == harness.TAG
    assert after["Config"]["Labels"]["org.opencontainers.image.version"] == "rebuild"
    leaked = harness.podman_python(  # the package folder in the image holds none of them
        after_ref,
        f"import os; os.chdir('/app/{m.package}'); "
        "print([p for p in ('tests', 'local.pem', '.env') if os.path.exists(p)])",
    )
    assert leaked.stdout.strip() == "[]", leaked.stdout + leaked.stderr
    info = harness.podman_python(after_ref, "print(open('/etc/image-info.json').read())")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["version"] == "rebuild"
    assert data["port"] == str(m.port)
    assert data["package"] == m.package
    podman_tool.podman("rmi", after_ref, check=False)  # the service's own images stay for the next run
