# syntax=docker/dockerfile:1
# SVD studio for cloud GPU marketplaces. See docs/publishing.md.
#
#   docker build -t svd-studio .
#   docker build -t svd-studio:svd-xt --build-arg BAKE_MODEL=svd-xt --secret id=hf_token,env=HF_TOKEN .
#   docker run --gpus all -p 7860:7860 -v svd-data:/workspace -e HF_TOKEN=hf_... svd-studio

# CUDA 12.8 base, pinned. PyTorch's cu128 wheels bring their own CUDA libraries; they run on any CUDA 12.x driver
# (525.60.13 or newer, through CUDA's minor-version compatibility) and on CUDA 13 drivers, and they cover the
# RTX 30xx/40xx/50xx, A100, L40S and H100 generations.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04

FROM ${CUDA_IMAGE} AS build
ARG TORCH_VERSION=2.13.0
ARG TORCHVISION_VERSION=0.28.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
# The base image's tag pins the Ubuntu release; its Python packages take that release's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Then drop what the app never runs: the packages' own test suites, Triton's static profiler libraries (for building
# its profiler) and pip itself. See docs/publishing.md for what remains and why.
RUN /opt/venv/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" \
        --index-url "${TORCH_INDEX}" \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip \
    && find /opt/venv/lib -depth -type d -name tests -path "*/site-packages/*" -exec rm -rf {} + \
    && rm -f /opt/venv/lib/python3*/site-packages/triton/backends/nvidia/lib/cupti/*.a

FROM ${CUDA_IMAGE}
ARG UID=1000
# NVIDIA_DISABLE_REQUIRE: the base image would make the NVIDIA runtime refuse drivers older than CUDA 12.8;
# the wheels need only a CUDA 12.x driver, which many rented hosts have.
ENV NVIDIA_DISABLE_REQUIRE=1 \
    PATH=/opt/venv/bin:$PATH \
    SVD_PYTHON=/opt/venv/bin/python \
    SVD_BAKED_CACHE=/opt/svd/baked \
    HOST=0.0.0.0 \
    PORT=7860 \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_DISABLE_TELEMETRY=1
# gcc and Python's headers: torch.compile (SVD_SPEED=compile_unet) has Triton build its small C launchers at run time.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 gcc libpython3-dev \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && (userdel --remove ubuntu 2>/dev/null || true) \
    && useradd --uid "${UID}" --gid 0 --create-home --shell /bin/bash svd \
    && mkdir -p /workspace /app/data /opt/svd/baked \
    && chown "${UID}:0" /workspace /app/data \
    && chmod 775 /workspace /app/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chmod=755 launch.sh ./
COPY webui.py ./
COPY svd ./svd
COPY ui ./ui
COPY examples ./examples
# An optional model baked into the image: the token comes in as a BuildKit secret and is never stored in a layer.
# BAKE_ENDPOINT: a Hub mirror to fetch it from. Declared here, so that every layer above is shared with the image
# built without a model.
ARG BAKE_MODEL=""
ARG BAKE_ENDPOINT=""
RUN --mount=type=secret,id=hf_token \
    if [ -n "${BAKE_MODEL}" ]; then \
        HF_TOKEN="$(cat /run/secrets/hf_token 2>/dev/null || true)" HF_HOME=/tmp/hf HF_HUB_CACHE=/opt/svd/baked \
        HF_ENDPOINT="${BAKE_ENDPOINT:-https://huggingface.co}" python -m svd download "${BAKE_MODEL}" \
        && rm -rf /tmp/hf; \
    fi
USER ${UID}:0
EXPOSE 7860
VOLUME ["/workspace"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["/app/launch.sh", "health"]
ENTRYPOINT ["/app/launch.sh"]
CMD ["serve"]
