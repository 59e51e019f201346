#!/usr/bin/env bash
# Installs the Bicep CLI into the project-local .tools/ folder (git-ignored) and prints
# the path of the binary on stdout; everything else goes to stderr.
#
# Why NuGet: the machines that build this project reach only the npm registry, Debian's
# packages and NuGet. The Bicep compiler ships on NuGet as the self-contained package
# Azure.Bicep.CommandLine.linux-x64 (binary at tools/bicep). A throwaway project with a
# <PackageDownload> item lets `dotnet restore` fetch it without building anything.
#
# Idempotent: when the binary is already there and reports the pinned version, it only
# prints the path (no dotnet call). Fails loudly (non-zero exit, message on stderr) otherwise.
#
# Environment:
#   BICEP_VERSION   version to install (default: the pinned one below)
#   BICEP_TOOLS_DIR where to install (default: <repo>/.tools)
set -euo pipefail

readonly DEFAULT_BICEP_VERSION='0.49.2'
readonly PACKAGE_ID='Azure.Bicep.CommandLine.linux-x64'

version="${BICEP_VERSION:-$DEFAULT_BICEP_VERSION}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${BICEP_TOOLS_DIR:-$repo_root/.tools}"
packages_dir="$tools_dir/nuget"
package_dir="$packages_dir/$(echo "$PACKAGE_ID" | tr '[:upper:]' '[:lower:]')/$version"
binary="$package_dir/tools/bicep"
link="$tools_dir/bin/bicep"

fail() {
  echo "install-bicep: $*" >&2
  exit 1
}

installed_version() {
  # `bicep --version` prints e.g. "Bicep CLI version 0.49.2 (abcdef)".
  "$1" --version 2>/dev/null | sed -n 's/^Bicep CLI version \([0-9][0-9.]*\).*/\1/p'
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) fail "only linux-x64 is supported by this script (found $(uname -s)-$(uname -m)); install Bicep another way and set BICEP_PATH" ;;
esac

if [[ -x "$binary" && "$(installed_version "$binary")" == "$version" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$binary" "$link"
  echo "$binary"
  exit 0
fi

command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH; the .NET SDK is needed to download $PACKAGE_ID $version from NuGet"

# The throwaway project targets the SDK's own framework, whose targeting pack ships with the
# SDK, so the restore asks NuGet for nothing but the Bicep package.
sdk_major="$(dotnet --version | cut -d. -f1)"
[[ "$sdk_major" =~ ^[0-9]+$ ]] || fail "could not read the .NET SDK version from 'dotnet --version'"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
cat >"$work_dir/install-bicep.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net${sdk_major}.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$PACKAGE_ID" Version="[$version]" />
  </ItemGroup>
</Project>
XML

echo "install-bicep: downloading $PACKAGE_ID $version from NuGet into $packages_dir" >&2
mkdir -p "$packages_dir"
if ! dotnet restore "$work_dir/install-bicep.csproj" --packages "$packages_dir" >"$work_dir/restore.log" 2>&1; then
  cat "$work_dir/restore.log" >&2
  fail "dotnet restore failed for $PACKAGE_ID $version (is NuGet reachable, and is this version served?)"
fi

[[ -f "$binary" ]] || fail "restore succeeded but $binary does not exist (did the package layout change?)"
chmod +x "$binary"
actual="$(installed_version "$binary")"
[[ "$actual" == "$version" ]] || fail "$binary reports version '${actual:-nothing}', expected $version"

mkdir -p "$(dirname "$link")"
ln -sfn "$binary" "$link"
echo "install-bicep: installed Bicep CLI $version" >&2
echo "$binary"
