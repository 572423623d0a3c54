# Installation of the deployment artifacts and the Debian package of timing-sidecar.
#
# Included at the end of the top-level CMakeLists.txt (which installs the timing-sidecar binary
# to ${CMAKE_INSTALL_BINDIR}). Builds a .deb with:
#   cmake -S . -B build -DBUILD_TESTING=OFF && cmake --build build --target timing-sidecar
#   (cd build && cpack -G DEB)
# The package holds:
#   /usr/bin/timing-sidecar
#   /usr/lib/systemd/system/timing-sidecar.service          (deploy/systemd/)
#   /etc/timing-sidecar/config.toml                         (deploy/config.example.toml, a conffile)
#   /usr/share/timing-sidecar/dashboards/timing-sidecar.json (Grafana; provisioning examples in
#                                                            /usr/share/timing-sidecar/grafana/)
#   /usr/share/timing-sidecar/prometheus/{alerts,recording,prometheus}.yml
#   /usr/share/timing-sidecar/kubernetes/*.yaml
#   /usr/share/doc/timing-sidecar/{README.md,config.example.toml}
# Test: tests/scripts/deploy_deb.sh.

include_guard(GLOBAL)
include(GNUInstallDirs)

get_filename_component(_timing_sidecar_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(_timing_sidecar_deploy "${_timing_sidecar_root}/deploy")

# An absolute path, as the package must put the config in /etc whatever the prefix (for a plain
# `cmake --install` into a private prefix, override it or install with DESTDIR).
set(TIMING_SIDECAR_CONFIG_DIR "/etc/timing-sidecar"
    CACHE PATH "Where the sidecar's config.toml is installed (the systemd unit reads it there)")

install(FILES "${_timing_sidecar_deploy}/systemd/timing-sidecar.service"
        DESTINATION lib/systemd/system)
install(FILES "${_timing_sidecar_deploy}/config.example.toml"
        DESTINATION "${TIMING_SIDECAR_CONFIG_DIR}"
        RENAME config.toml)
install(FILES "${_timing_sidecar_deploy}/config.example.toml"
              "${PROJECT_SOURCE_DIR}/README.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}")

set(_timing_sidecar_share "${CMAKE_INSTALL_DATADIR}/timing-sidecar")
install(FILES "${_timing_sidecar_root}/dashboards/timing-sidecar.json"
        DESTINATION "${_timing_sidecar_share}/dashboards")
install(DIRECTORY "${_timing_sidecar_root}/dashboards/provisioning/"
        DESTINATION "${_timing_sidecar_share}/grafana/provisioning"
        FILES_MATCHING PATTERN "*.yml" PATTERN "*.yaml")
install(FILES "${_timing_sidecar_deploy}/prometheus/alerts.yml"
              "${_timing_sidecar_deploy}/prometheus/recording.yml"
              "${_timing_sidecar_deploy}/prometheus/prometheus.yml"
        DESTINATION "${_timing_sidecar_share}/prometheus")
install(DIRECTORY "${_timing_sidecar_deploy}/kubernetes/"
        DESTINATION "${_timing_sidecar_share}/kubernetes"
        FILES_MATCHING PATTERN "*.yaml")

# ---------------------------------------------------------------------------------------- CPack
set(CPACK_GENERATOR "DEB" CACHE STRING "CPack generators")
set(CPACK_PACKAGE_NAME "timing-sidecar")
set(CPACK_PACKAGE_VENDOR "timing-sidecar")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "timing-sidecar maintainers <timing-sidecar@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Per-topic Prometheus metrics of Apache RocketMQ timing messages")
set(CPACK_PACKAGE_DESCRIPTION
    "timing-sidecar runs beside an Apache RocketMQ broker (one per broker) and exports\n\
per-topic metrics of its timing (scheduled) messages to Prometheus: pending, overdue,\n\
enqueue/dequeue counts, time-to-delivery ranges and delivery lateness. The series of a\n\
deleted topic are removed immediately, and a periodic reconcile removes what no event\n\
reported. Ships a hardened systemd unit, Prometheus alert and recording rules and a\n\
Grafana dashboard.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME "timing-sidecar")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-alertmanager")
# The runtime libraries come from the binary's NEEDED entries via dpkg-shlibdeps (dpkg-dev);
# without it, the list the binary links against on Debian 12.
find_program(TIMING_SIDECAR_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(TIMING_SIDECAR_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): .deb Depends listed by hand")
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libprometheus-cpp-core1.0, libcpp-httplib0.11, zlib1g, libssl3, libyaml-cpp0.7, libcrypt1, libre2-9, libstdc++6 (>= 12), libc6 (>= 2.34), libgcc-s1")
endif()
# conffiles (so dpkg keeps a changed config.toml on upgrade) and the maintainer scripts.
file(WRITE "${CMAKE_BINARY_DIR}/debian/conffiles" "${TIMING_SIDECAR_CONFIG_DIR}/config.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_BINARY_DIR}/debian/conffiles"
    "${_timing_sidecar_deploy}/debian/postinst"
    "${_timing_sidecar_deploy}/debian/prerm"
    "${_timing_sidecar_deploy}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
