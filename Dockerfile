# syntax=docker/dockerfile:1
#
# Gnomon's image. With no arguments it runs everything in one process (`gnomon serve`) on a SQLite
# file in /var/lib/gnomon:
#   docker run -p 8080:8080 -v gnomon-data:/var/lib/gnomon \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" gnomon
# The Helm chart runs the parts one per pod instead: `api`, `scheduler`, `operator`, `migrate`.

ARG PYTHON_VERSION=3.11

# ---- builder: wheels for the dependencies, then for gnomon itself, installed under /install ----
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build

# The dependencies change less often than the code: build them in a layer of their own, from the
# list in pyproject.toml, so an edit under src/ does not rebuild them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
 && pip wheel --wheel-dir /wheels -r requirements.txt

COPY README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --prefix /install --no-index --find-links /wheels gnomon

# ---- runtime: the slim Python image, the installed packages and an unprivileged user ----
FROM python:${PYTHON_VERSION}-slim

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
