# Seamline's image: the API (`serve`), the worker (`worker`) and the one-off commands (`migrate`, `reconcile`)
# from one small image that runs as a non-root user. Build: docker build -t seamline .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SEAMLINE_ENV=production
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin seamline
USER 10001
WORKDIR /home/seamline
# 8000: the API and dashboard (`serve`; the health check below is its); 9101: a worker's /healthz, /readyz and
# /metrics (deploy/compose.yaml gives the worker its own health check).
EXPOSE 8000 9101
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["seamline"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
