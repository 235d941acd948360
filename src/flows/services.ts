// Well-known ports (IANA service names) used to name a flow's service and to tell which side
// of a flow is the server.

const TCP_AND_UDP: Record<number, string> = {
  7: "echo",
  53: "dns",
  88: "kerberos",
  123: "ntp",
  135: "msrpc",
  137: "netbios-ns",
  138: "netbios-dgm",
  139: "netbios-ssn",
  161: "snmp",
  162: "snmptrap",
  389: "ldap",
  443: "https",
  464: "kpasswd",
  500: "isakmp",
  514: "syslog",
  636: "ldaps",
  853: "dns-over-tls",
  1194: "openvpn",
  1701: "l2tp",
  1812: "radius",
  1813: "radius-acct",
  1900: "ssdp",
  3478: "stun",
  3479: "stun",
  4500: "ipsec-nat-t",
  5060: "sip",
  5061: "sips",
  5353: "mdns",
  5355: "llmnr",
  6081: "geneve",
  4789: "vxlan",
};

const TCP_ONLY: Record<number, string> = {
  20: "ftp-data",
  21: "ftp",
  22: "ssh",
  23: "telnet",
  25: "smtp",
  43: "whois",
  79: "finger",
  80: "http",
  110: "pop3",
  111: "sunrpc",
  113: "ident",
  119: "nntp",
  143: "imap",
  179: "bgp",
  445: "microsoft-ds",
  465: "smtps",
  502: "modbus",
  513: "rlogin",
  515: "printer",
  543: "klogin",
  548: "afp",
  554: "rtsp",
  587: "submission",
  631: "ipp",
  873: "rsync",
  990: "ftps",
  993: "imaps",
  995: "pop3s",
  1080: "socks",
  1433: "ms-sql",
  1521: "oracle",
  1723: "pptp",
  1883: "mqtt",
  2049: "nfs",
  2181: "zookeeper",
  2375: "docker",
  2376: "docker-tls",
  3128: "http-proxy",
  3268: "ldap-gc",
  3306: "mysql",
  3389: "rdp",
  3690: "svn",
  4369: "epmd",
  5000: "upnp",
  5222: "xmpp-client",
  5432: "postgresql",
  5671: "amqps",
  5672: "amqp",
  5900: "vnc",
  5984: "couchdb",
  6379: "redis",
  6443: "kubernetes-api",
  6667: "irc",
  8000: "http-alt",
  8008: "http-alt",
  8080: "http-alt",
  8443: "https-alt",
  8883: "mqtts",
  9000: "http-alt",
  9042: "cassandra",
  9092: "kafka",
  9200: "elasticsearch",
  9418: "git",
  11211: "memcached",
  27017: "mongodb",
};

const UDP_ONLY: Record<number, string> = {
  67: "dhcp-server",
  68: "dhcp-client",
  69: "tftp",
  443: "quic",
  520: "rip",
  546: "dhcpv6-client",
  547: "dhcpv6-server",
  1645: "radius",
  1646: "radius-acct",
  2049: "nfs",
  4433: "quic-alt",
  5004: "rtp",
  5683: "coap",
  11211: "memcached",
  27015: "steam",
  51820: "wireguard",
};

const TCP = 6, UDP = 17, SCTP = 132;

export function serviceName(ipProto: number, port: number): string | undefined {
  if (ipProto === UDP) return UDP_ONLY[port] ?? TCP_AND_UDP[port];
  if (ipProto === TCP || ipProto === SCTP) return TCP_ONLY[port] ?? TCP_AND_UDP[port];
  return undefined;
}

/**
 * The port that names a flow's service: the responder's when it is a known service or below
 * the ephemeral range, else the initiator's when that one is known, else the responder's.
 */
export function servicePort(ipProto: number, initiatorPort: number, responderPort: number): number {
  if (serviceName(ipProto, responderPort) || responderPort < 1024) return responderPort;
  if (serviceName(ipProto, initiatorPort)) return initiatorPort;
  return responderPort;
}
