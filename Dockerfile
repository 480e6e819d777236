# syntax=docker/dockerfile:1
# Build: docker build -t blacklist-agi .
# Run:   docker run -p 4573:4573 -e BLACKLIST_REDIS_ADDR=redis:6379 blacklist-agi
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/blacklist-agi ./cmd/blacklist-agi

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/blacklist-agi /usr/local/bin/blacklist-agi
COPY config/blacklist-agi.yaml /etc/blacklist-agi/blacklist-agi.yaml
COPY config/campaigns /etc/blacklist-agi/campaigns
USER nonroot:nonroot
EXPOSE 4573 9573
ENV BLACKLIST_LISTEN=:4573
ENTRYPOINT ["/usr/local/bin/blacklist-agi"]
CMD ["serve", "--config", "/etc/blacklist-agi/blacklist-agi.yaml"]
