"""The reference trainer's two Adam optimisers over the parameters of one of
our checkpoints (in the reference's order: synthesis, then the mapping
network with its mult 0.01), loaded from the checkpoint's own optimiser
state dicts and stepped once with every gradient 0.01."""
import torch


def load_layout(path):
    """{(section, name): 'param' | 'buffer'} from the LAYOUT file the C++ test writes."""
    kinds = {}
    for line in open(path):
        section, kind, name, *_ = line.split()
        kinds[(section, name)] = kind
    return kinds


def stepped_optimizers(ckpt, kinds):
    def params(section, prefix=""):
        return [torch.nn.Parameter(v.clone()) for k, v in ckpt[section].items()
                if kinds[(section, k)] == "param" and k.startswith(prefix)]

    g_optim = torch.optim.Adam(params("generator", "generator."), lr=0.001, betas=(0.0, 0.99))
    g_optim.add_param_group({"params": params("generator", "style."), "lr": 0.00001, "mult": 0.01})
    g_optim.load_state_dict(ckpt["g_optimizer"])
    d_optim = torch.optim.Adam(params("discriminator"), lr=0.001, betas=(0.0, 0.99))
    d_optim.load_state_dict(ckpt["d_optimizer"])
    for optim in (g_optim, d_optim):
        for group in optim.param_groups:
            for p in group["params"]:
                p.grad = torch.full_like(p, 0.01)
        optim.step()
    return g_optim, d_optim
