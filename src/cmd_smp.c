/* cmd_smp.c - `relais smp`: serves this access point's SMP (Peppol SMP 1.0) for the participants in the
 * database until SIGINT or SIGTERM. */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/participants.h"
#include "relais/smp.h"
#include "relais/smp_server.h"
#include "relais/store.h"
#include "commands.h"

static int run_smp(int argc, char **argv);

const struct rl_command rl_cmd_smp = {
	.name = "smp",
	.summary = "serve the SMP of the participants this access point hosts",
	.usage =
		"usage: relais smp [-c FILE] [--set section.key=value ...]\n"
		"\n"
		"Serves the Peppol SMP 1.0 REST interface on smp.listen until SIGINT or SIGTERM:\n"
		"  GET /{participant}                     the ServiceGroup (its document types)\n"
		"  GET /{participant}/services/{doctype}  the SignedServiceMetadata\n"
		"for the participants added with relais participant (database.url). Every\n"
		"ServiceMetadata publishes smp.endpoint_url (transport profile peppol-transport-as4-v2_0)\n"
		"with smp.endpoint_cert (default identity.cert) and is signed with the SMP key\n"
		"(smp.keystore, or smp.key and smp.cert). Prints \"relais smp: serving on HOST:PORT\"\n"
		"once it listens.\n"
		"Exit status 0 after a signal, 1 when it cannot serve, 2 on usage or configuration errors.\n",
	.run = run_smp,
};

/* The SMP key, the endpoint certificate and the listen address from the configuration. */
static int load_smp_config(const struct rl_config *cfg, struct rl_identity *signer, X509 **endpoint_cert,
			   char *host, size_t host_size, unsigned *port, struct rl_err *err)
{
	const char *keystore = rl_config_str(cfg, RL_CFG_SMP_KEYSTORE), *password = rl_config_str(cfg, RL_CFG_SMP_PASSWORD);
	const char *key = rl_config_str(cfg, RL_CFG_SMP_KEY), *cert = rl_config_str(cfg, RL_CFG_SMP_CERT);
	const char *ep_cert = rl_config_str(cfg, RL_CFG_SMP_ENDPOINT_CERT);

	if (!rl_config_str(cfg, RL_CFG_SMP_ENDPOINT_URL)[0])
		return rl_err_set(err, RL_ERR_CONFIG, "smp.endpoint_url is not set: the SMP has no endpoint to publish");
	if (rl_config_hostport(cfg, RL_CFG_SMP_LISTEN, host, host_size, port) < 0)
		return rl_err_set(err, RL_ERR_CONFIG, "smp.listen is not a host:port");
	if (!keystore[0] && (!key[0] || !cert[0]))
		return rl_err_set(err, RL_ERR_CONFIG, "no SMP key: set smp.keystore, or smp.key and smp.cert");
	if (rl_cli_load_identity(key, cert, keystore[0] ? keystore : NULL, password[0] ? password : NULL, signer,
				 err) < 0) {
		err->code = RL_ERR_CONFIG;
		return rl_err_prefix(err, "SMP key");
	}
	if (!ep_cert[0])
		ep_cert = rl_config_str(cfg, RL_CFG_IDENTITY_CERT);
	if (!ep_cert[0]) {
		rl_identity_free(signer);
		return rl_err_set(err, RL_ERR_CONFIG, "no endpoint certificate: set smp.endpoint_cert or identity.cert");
	}
	if (!(*endpoint_cert = rl_cert_load_pem(ep_cert, err))) {
		rl_identity_free(signer);
		err->code = RL_ERR_CONFIG;
		return rl_err_prefix(err, "endpoint certificate");
	}
	return 0;
}

static int run_smp(int argc, char **argv)
{
	const char *config_path = NULL;
	struct rl_smp_server_opts o = { 0 };
	struct rl_identity signer = { 0 };
	struct rl_pgcluster *cluster = NULL;
	struct rl_participants *p = NULL;
	struct rl_smp_server *s = NULL;
	struct rl_config *cfg = NULL;
	X509 *endpoint_cert = NULL;
	struct rl_err err;
	char host[256];
	unsigned port = 0;
	sigset_t stop_signals;
	int status, sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return rl_cli_print_usage(&rl_cmd_smp);
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--set") == 0) &&
		    i + 1 >= argc)
			return rl_cli_usage_error(&rl_cmd_smp, "%s needs a value", argv[i]);
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--set") == 0)
			i++;
		else
			return rl_cli_usage_error(&rl_cmd_smp, "unexpected argument '%s'", argv[i]);
	}
	if ((status = rl_cli_config_load_argv(&rl_cmd_smp, config_path, argc, argv, NULL, &cfg)) != RL_EXIT_OK)
		return status;
	if (rl_init(&err) < 0 || load_smp_config(cfg, &signer, &endpoint_cert, host, sizeof(host), &port, &err) < 0) {
		status = rl_cli_fail(&err);
		goto out;
	}
	if (!(p = rl_participants_open_config(cfg, &cluster, &err))) {
		status = rl_cli_fail(&err);
		goto out;
	}
	/* The server's threads inherit this mask: the signals are taken here, by sigwait. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	o.host = host;
	o.port = port;
	o.base_url = rl_config_str(cfg, RL_CFG_SMP_BASE_URL);
	o.signer = &signer;
	o.endpoint.transport_profile = RL_TRANSPORT_PEPPOL_AS4_V2;
	o.endpoint.url = rl_config_str(cfg, RL_CFG_SMP_ENDPOINT_URL);
	o.endpoint.cert = endpoint_cert;
	o.directory = rl_participants_directory(p);
	if (!(s = rl_smp_server_start(&o, &err))) {
		status = rl_cli_fail(&err);
		goto out;
	}
	printf("relais smp: serving on %s:%u\n", host, rl_smp_server_port(s));
	fflush(stdout);
	sigwait(&stop_signals, &sig);
	printf("relais smp: stopped by signal %d after %lu requests\n", sig, rl_smp_server_requests(s));
	status = RL_EXIT_OK;
out:
	rl_smp_server_stop(s);
	rl_participants_close(p);
	rl_pgcluster_stop(cluster);
	X509_free(endpoint_cert);
	rl_identity_free(&signer);
	rl_config_free(cfg);
	return status;
}
