#!/usr/bin/env bash
# Stop the stack and remove its containers, network and Redis volume,
# including containers a scenario added. Images stay.
source "$(dirname "$0")/common.sh"

compose --profile lab down --volumes --remove-orphans
