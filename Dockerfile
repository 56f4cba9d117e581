# The statelab image: one static binary, `lab`, in an image with nothing else.
#
# Two ways to build it:
#
#   docker build -t statelab:0.1 .
#       builds from source in a golang image (the last stage): what a user with
#       a registry does, and what `docker compose build` does.
#
#   CGO_ENABLED=0 go build -o bin/lab ./cmd/lab
#   docker build --target prebuilt -t statelab:0.1 .
#       packs a binary built on the host: no image is pulled, so it works on a
#       machine that can reach no registry (scripts/images.sh does this).
#
# The prebuilt stage comes first on purpose: the legacy builder builds every
# stage up to --target, and pulls their base images.

FROM scratch AS prebuilt
COPY bin/lab /lab
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/lab"]
CMD ["server"]

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/lab ./cmd/lab

FROM scratch
COPY --from=build /out/lab /lab
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/lab"]
CMD ["server"]
