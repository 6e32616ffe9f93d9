# Container images of the services (scripts/images.py; podman, no Docker engine).
# Storage: STOREFRONT_CONTAINERS_DIR (default /var/tmp/storefront-containers, kept between runs).
# BASE=local|stripped|official (default local: the Debian bases made by `make base-image`: the
# build stage's minbase with binutils, and the runtime flavour, the same with the build tools and
# apt purged by dpkg, so scanners read an exact package database).

IMAGE_BASE ?= local
# IMAGE_TAG is not given a default here: mk/30-infra.mk passes it to Terraform only when set.
IMAGE_TAG_OR_LOCAL = $(or $(IMAGE_TAG),local)

.PHONY: images image-report base-image image-bench

base-image: venv ## Build the local Debian base images (debootstrap; cached, 1-3 minutes the first time)
	$(PY) scripts/images.py base
	$(PY) scripts/images.py base --flavour runtime

images: venv ## Build every service image (IMAGE_BASE=local|stripped|official, IMAGE_TAG=local)
	$(PY) scripts/images.py build all --base $(IMAGE_BASE) --tag $(IMAGE_TAG_OR_LOCAL)

image-report: venv ## Size and layer count of each image
	$(PY) scripts/images.py report --tag $(IMAGE_TAG_OR_LOCAL)

image-bench: venv ## Measure base, cold and warm build times and base variants in a scratch storage
	$(PY) scripts/images.py bench
