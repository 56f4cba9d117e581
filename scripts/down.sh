#!/usr/bin/env bash
# Stop the stack and remove its containers, network and Redis volume,
# including containers a scenario added. Images stay.
source "$(dirname "$0")/common.sh"

# The engine can still hold a just-removed container's endpoint on the
# network for a moment: a down that could not remove the network is run
# once more.
if ! compose --profile lab down --volumes --remove-orphans; then
	sleep 2
	compose --profile lab down --volumes --remove-orphans
fi
