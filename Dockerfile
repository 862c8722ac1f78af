# One image for api, worker, beat and crawler (see docker-compose.yml).
FROM node:20-bookworm-slim AS assets
WORKDIR /src/dashboards
COPY dashboards/package.json dashboards/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboards/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 YUQING_VAR_DIR=/var/lib/yuqing
WORKDIR /app
# Charts in documents need a CJK font (Noto Sans CJK SC); PDF export needs LibreOffice Writer.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig \
    libreoffice-writer-nogui && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md constraints.txt ./
COPY core ./core
COPY crawlers ./crawlers
COPY worker ./worker
COPY api ./api
COPY dashboards ./dashboards
COPY cli ./cli
COPY --from=assets /src/dashboards/dist ./dashboards/dist
COPY --from=assets /src/dashboards/node_modules/swagger-ui-dist ./dashboards/node_modules/swagger-ui-dist
RUN pip install --no-cache-dir -c constraints.txt -e . && useradd --system --home /var/lib/yuqing yuqing \
    && mkdir -p /var/lib/yuqing && chown yuqing /var/lib/yuqing
USER yuqing
EXPOSE 8000
CMD ["yuqing", "serve", "--host", "0.0.0.0", "--port", "8000"]
