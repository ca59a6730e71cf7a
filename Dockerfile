# Builds and runs the same server as `cargo run --release -- serve`, with its data in a volume.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin glossa

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/glossa glossa && mkdir -p /var/lib/glossa && chown glossa /var/lib/glossa
COPY --from=build /src/target/release/glossa /usr/local/bin/glossa
USER glossa
ENV GLOSSA_ADDR=0.0.0.0:8080 \
    GLOSSA_DATA_DIR=/var/lib/glossa/data
VOLUME ["/var/lib/glossa"]
EXPOSE 8080
ENTRYPOINT ["glossa"]
CMD ["serve"]
