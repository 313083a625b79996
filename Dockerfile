# syntax=docker/dockerfile:1
# Build stage: a wheel of gridops and of every dependency, so the runtime image needs no compiler.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip==26.3 wheel==0.48.0
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
RUN groupadd --system --gid 10001 gridops \
    && useradd --system --uid 10001 --gid 10001 --home /app gridops
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY migrations ./migrations
RUN mkdir -p /app/var/uploads && chown -R 10001:10001 /app/var
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["gridops", "healthcheck"]
# GRIDOPS_DATABASE__URL must point at PostgreSQL (postgresql+asyncpg://...).
CMD ["gridops", "start"]
