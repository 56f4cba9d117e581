# The statelab image: one static binary, `lab`, in an image with nothing else,
# built from source in a golang image:
#
#   docker build -t statelab:0.1 .
#
# what a user with a registry does, and what `docker compose build` does. It
# works with BuildKit and with the classic builder alike (Docker 20.10's
# `docker build` default). A machine that can reach no registry packs a
# binary built on the host instead, with Dockerfile.prebuilt
# (scripts/images.sh does that).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/lab ./cmd/lab

FROM scratch
COPY --from=build /out/lab /lab
# Scenario files: docker compose run --rm lab run /examples/NAME.yaml
COPY examples /examples
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/lab"]
CMD ["server"]
