# Production image: PostgreSQL via DATABASE_URL, Microsoft sign-in via MS_* settings.
FROM python:3.11-slim

# No file watcher: the image's code never changes, and watching it costs an inotify watch per file (or,
# where inotify runs out, a polling thread), for reloads that never come.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STREAMLIT_SERVER_HEADLESS=true STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 allocator && mkdir -p /app/data && chown -R allocator /app/data
USER allocator

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health').status != 200)"

# Migrations first, so a new release never serves pages against an old schema.
CMD ["sh", "-c", "alembic upgrade head && exec streamlit run app.py --server.port=8501 --server.address=0.0.0.0"]
