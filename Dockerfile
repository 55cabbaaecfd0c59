# The ponte image: a static binary on distroless, as the nonroot user (65532). The chart (charts/ponte) runs the
# same binary with the same arguments and user; charts/tools checks that they agree.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t ponte .

# The Go of go.mod's go line.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY clients/ clients/
COPY events/ events/
COPY handlers/ handlers/
COPY schemas/ schemas/
COPY examples/ examples/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ponte ./cmd/ponte

# Static: no libc, no shell, CA certificates and tzdata included; nonroot is UID and GID 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ponte /usr/local/bin/ponte
USER 65532:65532
# The ops server (http.listen): /metrics, /healthz, /readyz.
EXPOSE 8080
# The configuration is mounted there (the chart's ConfigMap); PONTE_* variables override its keys.
ENTRYPOINT ["/usr/local/bin/ponte", "run", "--config", "/etc/ponte/config/ponte.yaml"]
