#!/bin/sh
# Placeholder replaced by the test PKI generator.
mkdir -p "$1"
