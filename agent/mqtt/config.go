package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

// FromConfig turns the validated mqtt section into Options (without
// Source, Manual and Logger). ok is false when MQTT is off (no broker).
func FromConfig(c config.MQTTConfig, version string) (o Options, ok bool, err error) {
	if c.Broker == "" {
		return Options{}, false, nil
	}
	o = Options{Broker: c.Broker, DeviceID: c.DeviceID, DeviceName: c.DeviceName, TopicPrefix: c.TopicPrefix,
		DiscoveryPrefix: c.DiscoveryPrefix, Username: c.Username, Password: c.Password, Commands: c.Commands,
		KeepAlive: c.Keepalive, Version: version}
	if o.DeviceID == "" {
		o.DeviceID = config.DefaultDeviceID()
	}
	if strings.HasPrefix(c.Broker, "ssl://") || strings.HasPrefix(c.Broker, "mqtts://") || c.CAFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return Options{}, false, fmt.Errorf("mqtt: ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return Options{}, false, fmt.Errorf("mqtt: ca_file: no PEM certificate in %s", c.CAFile)
			}
			tc.RootCAs = pool
		}
		o.TLS = tc
	}
	return o, true, nil
}
