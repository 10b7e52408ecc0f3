/*
 * apd_esp.h - the deployment model: scenario, Autopilot profile, ESP
 * settings, ESP phases, apps, scripts and the blocking item, derived from a
 * finished index (registry values, IME logs, events) and stored in its
 * tables deployment, esp_phase, app, app_event and script
 * (docs/schema.md, docs/esp.md).
 *
 * apd_esp_derive() needs the full-text index (event_fts) to be complete: it
 * finds the IME lines it reads through it.  It writes inside the caller's
 * transaction and leaves the model tables empty when it fails.
 */
#ifndef APD_ESP_H
#define APD_ESP_H

#include "apd.h"
#include "apd_error.h"

#include <sqlite3.h>

/* APD_OK, or APD_FATAL with err set (SQLite or memory failure). */
int apd_esp_derive(sqlite3 *db, struct apd_error *err);

#endif /* APD_ESP_H */
