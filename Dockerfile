# syntax=docker/dockerfile:1
# Build stage: a wheel of gridops and of every dependency, so the runtime image needs no compiler.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip wheel
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim, non-root, migrations then uvicorn.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GRIDOPS_ENVIRONMENT=prod \
    GRIDOPS_SERVER__HOST=0.0.0.0 \
    GRIDOPS_SERVER__PORT=8000 \
    GRIDOPS_SERVER__WORKERS=2 \
    GRIDOPS_MIGRATIONS_DIR=/app/migrations \
    GRIDOPS_STORAGE__PATH=/app/var/uploads
RUN groupadd --system gridops && useradd --system --gid gridops --home /app gridops
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY migrations ./migrations
RUN mkdir -p /app/var/uploads && chown -R gridops:gridops /app/var
USER gridops
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# GRIDOPS_DATABASE__URL must point at PostgreSQL (postgresql+asyncpg://...).
CMD ["sh", "-c", "gridops migrate && exec gridops serve"]
