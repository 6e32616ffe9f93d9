# Container images of the services (scripts/images.py; podman, no Docker engine).
# Storage: STOREFRONT_CONTAINERS_DIR (default /var/tmp/storefront-containers, kept between runs).
# BASE=local|stripped|official (default local: the Debian base made by `make base-image`).

IMAGE_BASE ?= local
# IMAGE_TAG is not given a default here: mk/30-infra.mk passes it to Terraform only when set.
IMAGE_TAG_OR_LOCAL = $(or $(IMAGE_TAG),local)

.PHONY: images image-report base-image image-bench

base-image: venv ## Build the local Debian base image (debootstrap; cached, ~60 s the first time)
	$(PY) scripts/images.py base

images: venv ## Build every service image (IMAGE_BASE=local|stripped|official, IMAGE_TAG=local)
	$(PY) scripts/images.py build all --base $(IMAGE_BASE) --tag $(IMAGE_TAG_OR_LOCAL)

image-report: venv ## Size and layer count of each image
	$(PY) scripts/images.py report --tag $(IMAGE_TAG_OR_LOCAL)

image-bench: venv ## Measure base, cold and warm build times and base variants in a scratch storage
	$(PY) scripts/images.py bench
