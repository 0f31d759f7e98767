# Gnomon's image. With no arguments it runs everything in one process (`gnomon serve`) on a SQLite
# file in /var/lib/gnomon:
#   docker run -p 8080:8080 -v gnomon-data:/var/lib/gnomon \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" gnomon
# The Helm chart runs the parts one per pod instead: `api`, `scheduler`, `operator`, `migrate`.
#
# Build it with `docker build -t REGISTRY/gnomon:VERSION .`. Every package in it is pinned, with
# its hashes, in requirements.lock and requirements-build.lock (`make lock` makes them from
# pyproject.toml), so two builds of one commit install the same files, on amd64 and arm64 alike.

# The Python of the image; the lock files are made for this version (`make lock` reads it here).
ARG PYTHON_VERSION=3.11
# The image's org.opencontainers.image.version label: gnomon's version in pyproject.toml.
ARG VERSION=0.1.0

# ---- builder: the locked dependencies, then gnomon itself, installed under /install ----
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build

# The dependencies change less often than the code: install them in a layer of their own, so an
# edit under src/ does not reinstall them. --require-hashes: pip installs only the listed releases,
# only from files with the listed hashes, and fails if anything needs a package the lock lacks.
# --only-binary: every pinned release has wheels for linux amd64 and arm64, and building one from
# source would fetch its own, unpinned, build tools. The build backend goes into the builder's own
# Python, not into /install.
COPY requirements-build.lock requirements.lock ./
RUN pip install --require-hashes --only-binary :all: --no-deps -r requirements-build.lock \
 && pip install --prefix /install --require-hashes --only-binary :all: -r requirements.lock

# gnomon's wheel is built with the locked backend (--no-build-isolation), and adds no dependency
# (--no-deps): everything it needs came from the lock.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --prefix /install --no-deps --no-build-isolation --no-index .

# ---- runtime: the slim Python image, the installed packages and an unprivileged user ----
FROM python:${PYTHON_VERSION}-slim

ARG VERSION
LABEL org.opencontainers.image.title="gnomon" \
      org.opencontainers.image.description="Schedules and runs Docker-based batch jobs; a Sundial-compatible REST API, Kubernetes-native." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GNOMON_HOST=0.0.0.0 \
    GNOMON_PORT=8080

# A fixed numeric uid/gid (10001), so Kubernetes' runAsNonRoot can verify it and the chart's
# securityContext matches.
RUN groupadd --system --gid 10001 gnomon \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gnomon --create-home \
        --shell /usr/sbin/nologin gnomon

COPY --from=builder /install /usr/local

WORKDIR /var/lib/gnomon
USER 10001:10001

EXPOSE 8080

ENTRYPOINT ["gnomon"]
CMD ["serve"]
