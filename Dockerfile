# media-rip in one container: build the web app with Node, build the Python wheel (which carries
# the built web app), then a slim Python runtime with Debian's ffmpeg and the installed wheel only.
#
#   docker build -t mediarip .
#   docker run -p 8000:8000 -v mediarip-data:/data -v mediarip-downloads:/downloads mediarip
#
# The base images are build arguments, so the build can be pointed at local or mirrored bases:
#   docker build --build-arg PYTHON_IMAGE=localhost/python:3.11-slim-bookworm ...

ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- 1. the web app: npm ci from the lockfile, then vite build into web/dist -------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# --- 2. the wheel, with web/dist from stage 1 inside it, installed into a virtualenv -----------
FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml setup.py README.md requirements.lock ./
COPY mediarip/ mediarip/
COPY --from=web /src/web/dist/ web/dist/
# Build the wheel (setup.py copies web/dist into it as mediarip/web_dist), then install its
# dependencies exactly as requirements.lock pins them (hashes checked) and the wheel itself
# into /opt/mediarip, the only thing the runtime stage takes from here.
# (python3 and virtualenvs throughout, so that a plain Debian base with python3-venv works too.)
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install "build>=1.2,<2" \
    && /opt/build/bin/python -m build --wheel --outdir /dist . \
    && python3 -m venv /opt/mediarip \
    && /opt/mediarip/bin/pip install --require-hashes -r requirements.lock \
    && /opt/mediarip/bin/pip install --no-deps /dist/mediarip-*.whl \
    && /opt/mediarip/bin/python -c "import mediarip.api.spa as s; assert s.find_web_dist()"

# --- 3. the runtime: Python, Debian's ffmpeg, the installed wheel; no Node, no compilers -------
FROM ${PYTHON_IMAGE} AS runtime

# ffmpeg comes from the Debian release the base image is built on; pinning its exact version
# would break the build at every Debian point release, so it is deliberately not pinned.
# Debian's ffmpeg brings a graphics stack even without recommends (libavdevice links libGL,
# whose packages depend on mesa's drivers, which need LLVM and Z3): ~160 of its ~457 MB. ffmpeg
# loads with the libGL dispatch library alone and never opens a GL context here, so the drivers,
# LLVM and Z3 are removed; ffmpeg and ffprobe must still start afterwards, or the build fails.
# (SC2046: the package list is split into words on purpose.)
# hadolint ignore=DL3008,SC2046
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && dpkg --purge --force-depends $(dpkg-query -W -f '${Package} ' \
        'libllvm*' 'libz3-*' libgl1-mesa-dri mesa-vulkan-drivers 2>/dev/null || true) \
    && ffmpeg -hide_banner -version > /dev/null && ffprobe -hide_banner -version > /dev/null \
    && rm -rf /var/lib/apt/lists/*

# The user that runs media-rip: uid and gid 1000, which bind-mounted host folders must allow.
RUN groupadd --gid 1000 mediarip \
    && useradd --uid 1000 --gid mediarip --no-create-home --no-log-init --home-dir /data \
        --shell /usr/sbin/nologin mediarip \
    && mkdir -p /data /downloads /themes \
    && chown mediarip:mediarip /data /downloads /themes

COPY --from=wheel /opt/mediarip /opt/mediarip

ENV PATH=/opt/mediarip/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIARIP__SERVER__HOST=0.0.0.0 \
    MEDIARIP__SERVER__DATA_DIR=/data \
    MEDIARIP__DOWNLOADS__OUTPUT_DIR=/downloads \
    MEDIARIP__UI__THEMES_DIR=/themes

# A config.yaml put in /data is read at start (the working folder); so is MEDIARIP_CONFIG.
WORKDIR /data
USER 1000:1000
VOLUME ["/data", "/downloads", "/themes"]
EXPOSE 8000

# No curl in the image: Python's urllib asks /api/health (a non-2xx answer raises, exit 1),
# on MEDIARIP__SERVER__PORT when the port is moved with that variable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('MEDIARIP__SERVER__PORT', '8000'), timeout=4)"]

STOPSIGNAL SIGTERM
CMD ["mediarip"]
